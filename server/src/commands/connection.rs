//! The connection family: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO.

use super::table::{command, CommandDef};
use super::{errors, CmdResult, Ctx};
use crate::client::ReplyMode;
use crate::protocol::request::parse_i64;
use crate::protocol::Resp;

pub const COMMANDS: &[CommandDef] = &[
    command(
        "ping",
        -1,
        "fast",
        "@connection",
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Answers PONG, or echoes its argument.",
        ping,
    ),
    command(
        "echo",
        2,
        "loading stale fast",
        "@connection",
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Returns its argument.",
        echo,
    ),
    command(
        "quit",
        -1,
        "noscript loading stale fast no_auth allow_busy",
        "@connection",
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Closes the connection once the reply is written.",
        quit,
    ),
    command(
        "reset",
        1,
        "noscript loading stale fast no_auth allow_busy",
        "@connection",
        (0, 0, 0),
        "connection",
        "6.2.0",
        "Returns the connection to its initial state.",
        reset,
    ),
    command(
        "select",
        2,
        "loading stale fast",
        "@connection",
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Changes the database this connection works in.",
        select,
    ),
    command(
        "auth",
        -2,
        "noscript loading stale fast no_auth allow_busy",
        "@connection",
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        auth,
    ),
    command(
        "hello",
        -1,
        "noscript loading stale fast no_auth allow_busy",
        "@connection",
        (0, 0, 0),
        "connection",
        "6.0.0",
        "Chooses the protocol version, optionally authenticating and naming the connection.",
        hello,
    ),
];

fn ping(ctx: &mut Ctx) -> CmdResult {
    if ctx.argc() > 2 {
        return Err("ERR wrong number of arguments for 'ping' command".into());
    }
    let message = (ctx.argc() == 2).then(|| ctx.arg(1));
    if ctx.client().subscriptions.any() && !ctx.out.is_resp3() {
        // A RESP2 subscriber's replies must look like messages: `pong` and the payload.
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(message.unwrap_or_default());
        return Ok(());
    }
    match message {
        None => ctx.out.simple("PONG"),
        Some(message) => ctx.out.bulk(message),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx) -> CmdResult {
    ctx.out.bulk(ctx.arg(1));
    Ok(())
}

fn quit(ctx: &mut Ctx) -> CmdResult {
    ctx.out.ok();
    ctx.client().close_asap = true;
    Ok(())
}

fn reset(ctx: &mut Ctx) -> CmdResult {
    let authenticated = !super::auth_required(ctx.state);
    ctx.client().multi = None;
    super::transactions::unwatch_all(ctx);
    crate::pubsub::forget_client(ctx.state, ctx.client_id);
    super::monitor::stop(ctx.state, ctx.client_id);
    ctx.db = 0;
    let client = ctx.client();
    client.db = 0;
    client.resp = Resp::V2;
    client.authenticated = authenticated;
    client.name.clear();
    client.reply_mode = ReplyMode::On;
    client.no_evict = false;
    client.no_touch = false;
    ctx.out.resp = Resp::V2;
    ctx.out.simple("RESET");
    Ok(())
}

fn select(ctx: &mut Ctx) -> CmdResult {
    let index = parse_i64(ctx.arg(1)).ok_or(errors::NOT_INTEGER)?;
    let index = i32::try_from(index).map_err(|_| errors::NOT_INT32)?;
    if index < 0 || index as usize >= ctx.state.dbs.len() {
        return Err(errors::DB_INDEX_OUT_OF_RANGE.into());
    }
    ctx.db = index as usize;
    ctx.out.ok();
    Ok(())
}

const AUTH_WITHOUT_PASSWORD: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Checks credentials against the one user Understudy has, `default`, whose password is
/// `requirepass` (no password: any password is accepted, as Redis's `nopass` default user).
fn credentials_valid(ctx: &Ctx, user: &[u8], password: &[u8]) -> bool {
    let required = ctx.state.config.text("requirepass");
    user == b"default" && (required.is_empty() || required.as_bytes() == password)
}

fn auth(ctx: &mut Ctx) -> CmdResult {
    let (user, password) = match ctx.argc() {
        2 => {
            if !super::auth_required(ctx.state) {
                return Err(AUTH_WITHOUT_PASSWORD.into());
            }
            (&b"default"[..], ctx.arg(1))
        }
        3 => (ctx.arg(1), ctx.arg(2)),
        _ => return Err(errors::SYNTAX.into()),
    };
    if !credentials_valid(ctx, user, password) {
        return Err(WRONGPASS.into());
    }
    ctx.client().authenticated = true;
    ctx.out.ok();
    Ok(())
}

fn hello(ctx: &mut Ctx) -> CmdResult {
    let mut version = None;
    let mut next = 1;
    if ctx.argc() >= 2 {
        let v = parse_i64(ctx.arg(1))
            .ok_or("ERR Protocol version is not an integer or out of range")?;
        if !(2..=3).contains(&v) {
            return Err("NOPROTO unsupported protocol version".into());
        }
        version = Some(v);
        next = 2;
    }
    let mut credentials = None;
    let mut name = None;
    while next < ctx.argc() {
        let more = ctx.argc() - 1 - next;
        if ctx.arg_is(next, "AUTH") && more >= 2 {
            credentials = Some((ctx.arg(next + 1), ctx.arg(next + 2)));
            next += 3;
        } else if ctx.arg_is(next, "SETNAME") && more >= 1 {
            name = Some(ctx.arg(next + 1));
            next += 2;
        } else {
            return Err(format!("ERR Syntax error in HELLO option '{}'", ctx.arg_str(next)).into());
        }
    }
    if let Some((user, password)) = credentials {
        if !credentials_valid(ctx, user, password) {
            return Err(WRONGPASS.into());
        }
        ctx.client().authenticated = true;
    }
    if !ctx.client().authenticated && super::auth_required(ctx.state) {
        return Err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into());
    }
    if let Some(name) = name {
        validate_client_name(name)?;
        ctx.client().name = name.to_vec();
    }
    if let Some(v) = version {
        let resp = if v == 3 { Resp::V3 } else { Resp::V2 };
        ctx.client().resp = resp;
        ctx.out.resp = resp;
    }
    let id = ctx.client_id as i64;
    let proto = ctx.out.resp.number();
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(proto);
    out.bulk(b"id");
    out.int(id);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

/// Client names may not contain spaces, newlines or other special characters (Redis's rule).
pub fn validate_client_name(name: &[u8]) -> CmdResult {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(
            "ERR Client names cannot contain spaces, newlines or special characters.".into(),
        );
    }
    Ok(())
}
