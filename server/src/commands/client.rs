//! The CLIENT family: naming, listing, killing, pausing and reply modes of connections.

use std::fmt::Write as _;

use super::command::{reply_help, subcommand_syntax_error};
use super::table::{command, container, CommandDef, CommandTable, Lookup};
use super::{errors, CmdResult, Ctx};
use crate::client::{Client, ReplyMode};
use crate::protocol::request::parse_i64;
use crate::protocol::ReplyBuf;
use crate::pubsub::Kind;

pub const COMMANDS: &[CommandDef] = &[container(
    "client",
    "connection",
    "2.4.0",
    "Inspects and controls client connections.",
    SUBCOMMANDS,
)];

const SUBCOMMANDS: &[CommandDef] = &[
    command(
        "getname",
        2,
        "noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "2.6.9",
        "Returns this connection's name.",
        getname,
    ),
    command(
        "help",
        2,
        "loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "5.0.0",
        "Lists the CLIENT subcommands.",
        help,
    ),
    command(
        "id",
        2,
        "noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "5.0.0",
        "Returns this connection's unique id.",
        id,
    ),
    command(
        "info",
        2,
        "noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "6.2.0",
        "Describes this connection.",
        info,
    ),
    command(
        "kill",
        -3,
        "admin noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "2.4.0",
        "Closes the connections that match an address or filters.",
        kill,
    ),
    command(
        "list",
        -2,
        "admin noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "2.4.0",
        "Describes every connection, or those of a type or with given ids.",
        list,
    ),
    command(
        "no-evict",
        3,
        "admin noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "7.0.0",
        "Exempts this connection from client eviction, or not.",
        no_evict,
    ),
    command(
        "no-touch",
        3,
        "noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "7.2.0",
        "Stops this connection's reads from updating keys' access times, or not.",
        no_touch,
    ),
    command(
        "pause",
        -3,
        "admin noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "3.0.0",
        "Holds the commands of every client, or only writes, for a while.",
        pause,
    ),
    command(
        "reply",
        3,
        "noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "3.2.0",
        "Turns this connection's replies on or off, or skips the next one.",
        reply,
    ),
    command(
        "setinfo",
        4,
        "noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "7.2.0",
        "Records the client library's name or version for this connection.",
        setinfo,
    ),
    command(
        "setname",
        3,
        "noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "2.6.9",
        "Names this connection.",
        setname,
    ),
    command(
        "unblock",
        -3,
        "admin noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "5.0.0",
        "Ends another client's blocking command, as a timeout or with an error.",
        unblock,
    ),
    command(
        "unpause",
        2,
        "admin noscript loading stale",
        "@connection",
        (0, 0, 0),
        "connection",
        "6.2.0",
        "Ends a CLIENT PAUSE.",
        unpause,
    ),
];

/// Names, library names and versions must be printable ASCII without spaces, so that CLIENT
/// LIST stays parseable.
fn valid_attribute(value: &[u8]) -> bool {
    value.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn id(ctx: &mut Ctx) -> CmdResult {
    ctx.out.int(ctx.client_id as i64);
    Ok(())
}

fn setname(ctx: &mut Ctx) -> CmdResult {
    let name = ctx.arg(2);
    if !valid_attribute(name) {
        return Err(
            "ERR Client names cannot contain spaces, newlines or special characters.".into(),
        );
    }
    ctx.client().name = name.to_vec();
    ctx.out.ok();
    Ok(())
}

fn getname(ctx: &mut Ctx) -> CmdResult {
    let name = ctx.client().name.clone();
    if name.is_empty() {
        ctx.out.null();
    } else {
        ctx.out.bulk(&name);
    }
    Ok(())
}

fn setinfo(ctx: &mut Ctx) -> CmdResult {
    let attr = ctx.arg_str(2);
    let is_name = ctx.arg_is(2, "lib-name");
    if !is_name && !ctx.arg_is(2, "lib-ver") {
        return Err(format!("ERR Unrecognized option '{attr}'").into());
    }
    let value = ctx.arg(3);
    if !valid_attribute(value) {
        return Err(
            format!("ERR {attr} cannot contain spaces, newlines or special characters.").into(),
        );
    }
    let client = ctx.client();
    if is_name {
        client.lib_name = value.to_vec();
    } else {
        client.lib_ver = value.to_vec();
    }
    ctx.out.ok();
    Ok(())
}

/// Client types CLIENT LIST/KILL TYPE accept. Only normal clients exist: there is no
/// replication, and pub/sub does not mark clients yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

fn client_type(name: &[u8]) -> Option<ClientType> {
    let lower = name.to_ascii_lowercase();
    match lower.as_slice() {
        b"normal" => Some(ClientType::Normal),
        b"slave" | b"replica" => Some(ClientType::Replica),
        b"master" => Some(ClientType::Master),
        b"pubsub" => Some(ClientType::PubSub),
        _ => None,
    }
}

fn type_of(_client: &Client) -> ClientType {
    ClientType::Normal
}

fn unknown_type(name: &[u8]) -> super::CmdError {
    format!(
        "ERR Unknown client type '{}'",
        String::from_utf8_lossy(name)
    )
    .into()
}

/// What CLIENT LIST/INFO need to know about the connection running the command, which Redis
/// describes mid-command (its `cmd=` is the running command, its `argv-mem` that command's).
struct Current<'a> {
    id: u64,
    fullname: &'a str,
    argv_mem: usize,
}

fn current<'a>(ctx: &Ctx<'a>) -> Current<'static> {
    let fullname = match CommandTable::get().lookup(ctx.args) {
        Lookup::Found(cmd) => cmd.fullname,
        _ => "NULL",
    };
    Current {
        id: ctx.client_id,
        fullname,
        argv_mem: ctx.args.iter().map(<[u8]>::len).sum(),
    }
}

/// One CLIENT LIST line, in Redis 7.2's field order. There is no replication, so those fields
/// show their idle values; buffer sizes are the ones the connection reports (the query buffer's
/// spare room is not tracked, so `qbuf-free` is 0).
fn describe(client: &Client, now_ms: i64, running: &Current) -> String {
    let is_running = client.id == running.id;
    let mut flags = String::new();
    if client.monitor {
        flags.push('O');
    }
    if client.subscriptions.any() {
        flags.push('P');
    }
    if client.multi.is_some() {
        flags.push('x');
    }
    if client.blocked.is_some() {
        flags.push('b');
    }
    if client.watch_broken {
        flags.push('d');
    }
    if client.close_asap {
        flags.push('c');
    }
    if client.is_unix_socket {
        flags.push('U');
    }
    if client.no_evict {
        flags.push('e');
    }
    if client.no_touch {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let argv_mem = if is_running { running.argv_mem } else { 0 };
    let omem = client.output_bytes();
    let tot_mem = std::mem::size_of::<Client>()
        + client.query_buffer_len
        + argv_mem
        + omem
        + client.name.len();
    let cmd = if is_running {
        running.fullname
    } else {
        client.last_command
    };
    let events = if omem > 0 { "rw" } else { "r" };
    let mut line = String::with_capacity(320);
    let _ = write!(
        line,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} \
         multi={} qbuf={} qbuf-free=0 argv-mem={} multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={} \
         tot-mem={} events={} cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        client.id,
        client.addr,
        client.laddr,
        client.fd,
        String::from_utf8_lossy(&client.name),
        (now_ms - client.created_ms).max(0) / 1000,
        (now_ms - client.last_interaction_ms).max(0) / 1000,
        flags,
        client.db,
        client.subscriptions.len(Kind::Channel),
        client.subscriptions.len(Kind::Pattern),
        client.subscriptions.len(Kind::ShardChannel),
        client.multi.as_ref().map_or(-1, |queue| queue.len() as i64),
        client.query_buffer_len,
        argv_mem,
        omem,
        tot_mem,
        events,
        cmd,
        client.resp.number(),
        String::from_utf8_lossy(&client.lib_name),
        String::from_utf8_lossy(&client.lib_ver),
    );
    line
}

fn info(ctx: &mut Ctx) -> CmdResult {
    let running = current(ctx);
    let now = ctx.now_ms;
    let mut text = describe(ctx.client(), now, &running);
    text.push('\n');
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn list(ctx: &mut Ctx) -> CmdResult {
    let running = current(ctx);
    let mut ids: Vec<u64> = Vec::new();
    if ctx.argc() == 4 && ctx.arg_is(2, "type") {
        let wanted = client_type(ctx.arg(3)).ok_or_else(|| unknown_type(ctx.arg(3)))?;
        ids = ctx
            .state
            .clients
            .values()
            .filter(|c| type_of(c) == wanted)
            .map(|c| c.id)
            .collect();
        ids.sort_unstable();
    } else if ctx.argc() > 3 && ctx.arg_is(2, "id") {
        for i in 3..ctx.argc() {
            let id = parse_i64(ctx.arg(i)).ok_or("ERR Invalid client ID")?;
            if let Ok(id) = u64::try_from(id) {
                if ctx.state.clients.contains_key(&id) {
                    ids.push(id);
                }
            }
        }
    } else if ctx.argc() == 2 {
        ids = ctx.state.clients.keys().copied().collect();
        ids.sort_unstable();
    } else {
        return Err(errors::SYNTAX.into());
    }
    let mut text = String::new();
    for id in ids {
        if let Some(client) = ctx.state.clients.get(&id) {
            text.push_str(&describe(client, ctx.now_ms, &running));
            text.push('\n');
        }
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// CLIENT KILL's filters; every one given must match.
#[derive(Default)]
struct KillFilter<'a> {
    id: Option<u64>,
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    kind: Option<ClientType>,
    skip_me: bool,
}

impl KillFilter<'_> {
    fn matches(&self, client: &Client, me: u64) -> bool {
        if self.skip_me && client.id == me {
            return false;
        }
        self.id.is_none_or(|id| id == client.id)
            && self.addr.is_none_or(|a| a == client.addr.as_bytes())
            && self.laddr.is_none_or(|a| a == client.laddr.as_bytes())
            && self.kind.is_none_or(|k| k == type_of(client))
    }
}

fn kill(ctx: &mut Ctx) -> CmdResult {
    let old_form = ctx.argc() == 3;
    let mut filter = KillFilter::default();
    if old_form {
        filter.addr = Some(ctx.arg(2));
    } else {
        filter.skip_me = true;
        let mut i = 2;
        while i < ctx.argc() {
            if i + 1 >= ctx.argc() {
                return Err(errors::SYNTAX.into());
            }
            let value = ctx.arg(i + 1);
            if ctx.arg_is(i, "id") {
                let id = parse_i64(value).ok_or("ERR client-id should be greater than 0")?;
                if id < 1 {
                    return Err("ERR client-id should be greater than 0".into());
                }
                filter.id = Some(id as u64);
            } else if ctx.arg_is(i, "type") {
                filter.kind = Some(client_type(value).ok_or_else(|| unknown_type(value))?);
            } else if ctx.arg_is(i, "addr") {
                filter.addr = Some(value);
            } else if ctx.arg_is(i, "laddr") {
                filter.laddr = Some(value);
            } else if ctx.arg_is(i, "user") {
                // There is no ACL yet: every connection is the default user's.
                if value != b"default" {
                    return Err(
                        format!("ERR No such user '{}'", String::from_utf8_lossy(value)).into(),
                    );
                }
            } else if ctx.arg_is(i, "skipme") {
                if value.eq_ignore_ascii_case(b"yes") {
                    filter.skip_me = true;
                } else if value.eq_ignore_ascii_case(b"no") {
                    filter.skip_me = false;
                } else {
                    return Err(errors::SYNTAX.into());
                }
            } else {
                return Err(errors::SYNTAX.into());
            }
            i += 2;
        }
    }
    let me = ctx.client_id;
    let mut killed = 0;
    for client in ctx.state.clients.values_mut() {
        if filter.matches(client, me) {
            if client.id == me {
                // Our own reply is still written: the connection closes after it.
                client.close_asap = true;
            } else {
                client.kill();
            }
            killed += 1;
        }
    }
    if old_form {
        if killed == 0 {
            return Err("ERR No such client".into());
        }
        ctx.out.ok();
    } else {
        ctx.out.int(killed);
    }
    Ok(())
}

fn pause(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc() > 4 {
        return Err(subcommand_syntax_error(ctx, "CLIENT"));
    }
    let mut writes_only = false;
    if ctx.argc() == 4 {
        if ctx.arg_is(3, "write") {
            writes_only = true;
        } else if !ctx.arg_is(3, "all") {
            return Err("ERR CLIENT PAUSE mode must be WRITE or ALL".into());
        }
    }
    let timeout = parse_i64(ctx.arg(2)).ok_or("ERR timeout is not an integer or out of range")?;
    if timeout < 0 {
        return Err("ERR timeout is negative".into());
    }
    let until = if timeout > 0 {
        ctx.now_ms
            .checked_add(timeout)
            .ok_or("ERR timeout is out of range")?
    } else {
        0
    };
    let state = &mut *ctx.state;
    // A pause already running can be extended, or widened from writes to all, never shortened.
    if state.pause_until_ms > ctx.now_ms {
        state.pause_writes_only = state.pause_writes_only && writes_only;
        state.pause_until_ms = state.pause_until_ms.max(until);
    } else {
        state.pause_writes_only = writes_only;
        state.pause_until_ms = until;
    }
    ctx.out.ok();
    Ok(())
}

fn unblock(ctx: &mut Ctx) -> CmdResult {
    let id = parse_i64(ctx.arg(2)).ok_or(errors::NOT_INTEGER)?;
    let as_error = match ctx.argc() {
        3 => false,
        4 if ctx.arg_is(3, "timeout") => false,
        4 if ctx.arg_is(3, "error") => true,
        _ => return Err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR".into()),
    };
    let target = u64::try_from(id).ok();
    let blocked = target.is_some_and(|id| {
        ctx.state
            .clients
            .get(&id)
            .is_some_and(|c| c.blocked.is_some())
    });
    let Some(id) = target.filter(|_| blocked) else {
        ctx.out.int(0);
        return Ok(());
    };
    let resp = ctx
        .state
        .clients
        .get(&id)
        .map(|c| c.resp)
        .unwrap_or_default();
    let mut reply = ReplyBuf::new(resp);
    if as_error {
        crate::blocking::unblock(ctx.state, id);
        reply.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else {
        crate::blocking::time_out(ctx.state, id, &mut reply);
    }
    if let Some(client) = ctx.state.clients.get_mut(&id) {
        client.pending_output.extend_from_slice(&reply.buf);
        client.task.wakeup.notify_one();
    }
    ctx.out.int(1);
    Ok(())
}

fn unpause(ctx: &mut Ctx) -> CmdResult {
    ctx.state.pause_until_ms = 0;
    ctx.state.pause_writes_only = false;
    // Connections holding requests sleep until the pause's deadline: wake them now.
    for client in ctx.state.clients.values() {
        client.task.wakeup.notify_one();
    }
    ctx.out.ok();
    Ok(())
}

fn reply(ctx: &mut Ctx) -> CmdResult {
    if ctx.arg_is(2, "on") {
        ctx.client().reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if ctx.arg_is(2, "off") {
        ctx.client().reply_mode = ReplyMode::Off;
    } else if ctx.arg_is(2, "skip") {
        let client = ctx.client();
        if client.reply_mode != ReplyMode::Off {
            client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(errors::SYNTAX.into());
    }
    Ok(())
}

/// ON/OFF switches of CLIENT NO-EVICT and NO-TOUCH.
fn on_off(ctx: &Ctx) -> Result<bool, super::CmdError> {
    if ctx.arg_is(2, "on") {
        Ok(true)
    } else if ctx.arg_is(2, "off") {
        Ok(false)
    } else {
        Err(errors::SYNTAX.into())
    }
}

fn no_evict(ctx: &mut Ctx) -> CmdResult {
    let on = on_off(ctx)?;
    ctx.client().no_evict = on;
    ctx.out.ok();
    Ok(())
}

fn no_touch(ctx: &mut Ctx) -> CmdResult {
    let on = on_off(ctx)?;
    ctx.client().no_touch = on;
    ctx.out.ok();
    Ok(())
}

fn help(ctx: &mut Ctx) -> CmdResult {
    reply_help(
        ctx.out,
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_line_has_redis_field_order() {
        let mut c = Client::new(
            7,
            "127.0.0.1:5000".into(),
            "127.0.0.1:6379".into(),
            9,
            1_000,
        );
        c.name = b"worker".to_vec();
        c.lib_name = b"redis-py".to_vec();
        c.last_interaction_ms = 3_000;
        let running = Current {
            id: 8,
            fullname: "client|list",
            argv_mem: 11,
        };
        let line = describe(&c, 5_500, &running);
        assert!(line.starts_with(
            "id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=9 name=worker age=4 idle=2 \
             flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 "
        ));
        assert!(line.ends_with(
            "events=r cmd=NULL user=default redir=-1 resp=2 lib-name=redis-py lib-ver="
        ));
        let fields: Vec<&str> = line
            .split(' ')
            .map(|f| f.split('=').next().unwrap_or(""))
            .collect();
        assert_eq!(
            fields.join(" "),
            "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free \
             argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp \
             lib-name lib-ver"
        );
    }

    #[test]
    fn running_client_shows_its_command_and_flags() {
        let mut c = Client::new(8, "a:1".into(), "b:2".into(), 3, 0);
        c.no_evict = true;
        c.no_touch = true;
        let running = Current {
            id: 8,
            fullname: "client|info",
            argv_mem: 10,
        };
        let line = describe(&c, 0, &running);
        assert!(line.contains(" flags=eT "));
        assert!(line.contains(" argv-mem=10 "));
        assert!(line.contains(" cmd=client|info "));
    }

    async fn exchange(request: &[u8], expected: &[u8]) -> Vec<u8> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let server = crate::Server::builder()
            .port(0)
            .start()
            .await
            .expect("server starts");
        let mut conn = tokio::net::TcpStream::connect(server.addr())
            .await
            .expect("connects");
        conn.write_all(request).await.expect("writes");
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        // Read what is expected, then wait a little more for anything that should not come.
        loop {
            let wait = if got.len() < expected.len() {
                2000
            } else {
                200
            };
            let read =
                tokio::time::timeout(std::time::Duration::from_millis(wait), conn.read(&mut buf))
                    .await;
            match read {
                Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        server.shutdown().await;
        got
    }

    #[tokio::test]
    async fn reply_off_and_skip_silence_replies() {
        let expected = b"$1\r\nb\r\n+OK\r\n$1\r\nd\r\n";
        let got = exchange(
            b"CLIENT REPLY SKIP\r\nPING a\r\nPING b\r\nCLIENT REPLY OFF\r\nPING c\r\n\
              CLIENT REPLY SKIP\r\nPING e\r\nCLIENT REPLY ON\r\nPING d\r\n",
            expected,
        )
        .await;
        assert_eq!(got, expected);
    }

    #[tokio::test]
    async fn kill_self_closes_after_the_reply() {
        let got = exchange(
            b"CLIENT SETNAME me\r\nCLIENT KILL SKIPME no TYPE normal\r\nPING\r\n",
            b"+OK\r\n:1\r\n",
        )
        .await;
        assert_eq!(got, b"+OK\r\n:1\r\n");
    }

    #[test]
    fn attributes_are_printable_without_spaces() {
        assert!(valid_attribute(b"redis-py"));
        assert!(valid_attribute(b""));
        assert!(!valid_attribute(b"a b"));
        assert!(!valid_attribute(b"a\nb"));
        assert!(!valid_attribute("é".as_bytes()));
    }
}
