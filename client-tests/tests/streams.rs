//! Streams seen from clients, for what the differential case files cannot express: readers
//! blocked on one connection woken by writers on others, and a consumer group worked through by
//! several consumers (one of which dies) with claims and acknowledgements until nothing is
//! pending. Reply shapes are compared with redis-server in `differential/streams*.txt`.

use std::collections::BTreeSet;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Value;

async fn server() -> understudy::ServerHandle {
    understudy::Server::builder()
        .port(0)
        .start()
        .await
        .expect("server starts")
}

async fn connect(server: &understudy::ServerHandle) -> MultiplexedConnection {
    redis::Client::open(server.url())
        .expect("a valid url")
        .get_multiplexed_async_connection()
        .await
        .expect("connects")
}

fn text(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        other => panic!("not a string: {other:?}"),
    }
}

fn items(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

/// The entry ids of an XREAD/XREADGROUP reply, by stream (RESP2 shape).
fn read_ids(reply: &Value) -> Vec<(String, Vec<String>)> {
    if *reply == Value::Nil {
        return Vec::new();
    }
    items(reply)
        .iter()
        .map(|stream| {
            let pair = items(stream);
            let ids = items(&pair[1])
                .iter()
                .map(|entry| text(&items(entry)[0]))
                .collect();
            (text(&pair[0]), ids)
        })
        .collect()
}

async fn call(con: &mut MultiplexedConnection, args: &[&str]) -> Value {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(con).await.expect("command succeeds")
}

/// Waits until INFO reports `count` blocked clients.
async fn wait_blocked(con: &mut MultiplexedConnection, count: usize) {
    for _ in 0..500 {
        let info = text(&call(con, &["INFO", "clients"]).await);
        if info.contains(&format!("blocked_clients:{count}\r\n")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never saw {count} blocked clients");
}

#[tokio::test]
async fn readers_blocked_on_other_connections_are_woken_by_xadd_in_the_order_they_blocked() {
    let server = server().await;
    let mut writer = connect(&server).await;
    call(&mut writer, &["XADD", "events", "1-0", "kind", "old"]).await;
    call(&mut writer, &["XGROUP", "CREATE", "events", "workers", "$"]).await;

    // Two group readers and a plain reader on `$`, each on its own connection.
    let mut tasks = Vec::new();
    for consumer in ["first", "second"] {
        let mut con = connect(&server).await;
        tasks.push(tokio::spawn(async move {
            let args = [
                "XREADGROUP",
                "GROUP",
                "workers",
                consumer,
                "BLOCK",
                "0",
                "STREAMS",
                "events",
                ">",
            ];
            read_ids(&call(&mut con, &args).await)
        }));
        wait_blocked(&mut writer, tasks.len()).await;
    }
    let mut tail = connect(&server).await;
    let tail_task = tokio::spawn(async move {
        let args = ["XREAD", "BLOCK", "0", "STREAMS", "events", "$"];
        read_ids(&call(&mut tail, &args).await)
    });
    wait_blocked(&mut writer, 3).await;

    // An XDEL is a write to the key, but gives nobody anything to read.
    call(&mut writer, &["XDEL", "events", "1-0"]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    wait_blocked(&mut writer, 3).await;

    call(&mut writer, &["XADD", "events", "2-0", "kind", "a"]).await;
    let first = tasks.remove(0).await.expect("first reader");
    assert_eq!(first, vec![("events".to_string(), vec!["2-0".to_string()])]);
    let tail_ids = tail_task.await.expect("tail reader");
    assert_eq!(
        tail_ids,
        vec![("events".to_string(), vec!["2-0".to_string()])]
    );
    // The group's one new entry went to the reader that blocked first.
    wait_blocked(&mut writer, 1).await;
    call(&mut writer, &["XADD", "events", "3-0", "kind", "b"]).await;
    let second = tasks.remove(0).await.expect("second reader");
    assert_eq!(
        second,
        vec![("events".to_string(), vec!["3-0".to_string()])]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_blocked_reader_times_out_with_a_null_reply() {
    let server = server().await;
    let mut writer = connect(&server).await;
    let mut reader = connect(&server).await;
    let task = tokio::spawn(async move {
        let args = ["XREAD", "BLOCK", "100", "STREAMS", "nothing", "$"];
        call(&mut reader, &args).await
    });
    let reply = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the timeout fires")
        .expect("reader");
    assert_eq!(reply, Value::Nil);
    // A write after the timeout finds nobody waiting.
    call(&mut writer, &["XADD", "nothing", "1-0", "f", "v"]).await;
    wait_blocked(&mut writer, 0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_consumer_group_is_worked_through_by_several_consumers_until_nothing_is_pending() {
    const ENTRIES: usize = 300;
    let server = server().await;
    let mut admin = connect(&server).await;
    call(
        &mut admin,
        &["XGROUP", "CREATE", "jobs", "g", "$", "MKSTREAM"],
    )
    .await;
    let mut added = BTreeSet::new();
    for i in 0..ENTRIES {
        let n = i.to_string();
        added.insert(text(
            &call(&mut admin, &["XADD", "jobs", "*", "n", &n]).await,
        ));
    }
    assert_eq!(added.len(), ENTRIES, "ids are unique");

    // Three consumers read in batches; "crashy" acknowledges nothing and goes away.
    let mut acked = BTreeSet::new();
    let mut delivered = BTreeSet::new();
    let mut consumers = Vec::new();
    for name in ["alice", "bob", "crashy"] {
        consumers.push((name, connect(&server).await));
    }
    loop {
        let mut progress = false;
        for (name, con) in consumers.iter_mut() {
            let args = [
                "XREADGROUP",
                "GROUP",
                "g",
                name,
                "COUNT",
                "7",
                "STREAMS",
                "jobs",
                ">",
            ];
            for (_, ids) in read_ids(&call(con, &args).await) {
                for id in ids {
                    assert!(delivered.insert(id.clone()), "{id} delivered twice");
                    progress = true;
                    if *name != "crashy" {
                        assert_eq!(call(con, &["XACK", "jobs", "g", &id]).await, Value::Int(1));
                        acked.insert(id);
                    }
                }
            }
        }
        if !progress {
            break;
        }
    }
    assert_eq!(delivered, added, "every entry was delivered once");
    let summary = call(&mut admin, &["XPENDING", "jobs", "g"]).await;
    let pending_count = ENTRIES - acked.len();
    assert!(pending_count > 0);
    assert_eq!(items(&summary)[0], Value::Int(pending_count as i64));

    // Nothing is idle long enough yet: a claim with a minimum idle time takes nothing.
    let none = call(
        &mut admin,
        &[
            "XAUTOCLAIM",
            "jobs",
            "g",
            "alice",
            "60000",
            "0",
            "COUNT",
            "1000",
        ],
    )
    .await;
    assert!(items(&items(&none)[1]).is_empty());

    // A minute later, alice takes over crashy's entries: some with XCLAIM, the rest by
    // walking XAUTOCLAIM's cursor.
    server.advance_time(Duration::from_secs(61));
    let (_, alice) = &mut consumers[0];
    let first_pending = call(alice, &["XPENDING", "jobs", "g", "-", "+", "3", "crashy"]).await;
    for row in items(&first_pending) {
        let id = text(&items(row)[0]);
        let claimed = call(alice, &["XCLAIM", "jobs", "g", "alice", "60000", &id]).await;
        assert_eq!(items(&claimed).len(), 1, "{id} is claimed");
        assert_eq!(
            call(alice, &["XACK", "jobs", "g", &id]).await,
            Value::Int(1)
        );
        acked.insert(id);
    }
    let mut cursor = "0-0".to_string();
    loop {
        let reply = call(
            alice,
            &[
                "XAUTOCLAIM",
                "jobs",
                "g",
                "alice",
                "60000",
                &cursor,
                "COUNT",
                "10",
            ],
        )
        .await;
        let parts = items(&reply);
        for entry in items(&parts[1]) {
            let id = text(&items(entry)[0]);
            assert_eq!(
                call(alice, &["XACK", "jobs", "g", &id]).await,
                Value::Int(1)
            );
            acked.insert(id);
        }
        cursor = text(&parts[0]);
        if cursor == "0-0" {
            break;
        }
    }
    assert_eq!(acked, added, "every entry was acknowledged");
    let summary = call(&mut admin, &["XPENDING", "jobs", "g"]).await;
    assert_eq!(items(&summary)[0], Value::Int(0));
    // crashy holds nothing any more, and can be removed without losing work.
    assert_eq!(
        call(
            &mut admin,
            &["XGROUP", "DELCONSUMER", "jobs", "g", "crashy"]
        )
        .await,
        Value::Int(0)
    );
    let groups = call(&mut admin, &["XINFO", "GROUPS", "jobs"]).await;
    let group = items(&items(&groups)[0]).to_vec();
    let field = |name: &str| {
        group
            .chunks(2)
            .find(|pair| text(&pair[0]) == name)
            .map(|pair| pair[1].clone())
    };
    assert_eq!(field("pending"), Some(Value::Int(0)));
    assert_eq!(field("lag"), Some(Value::Int(0)));
    assert_eq!(field("entries-read"), Some(Value::Int(ENTRIES as i64)));
    server.shutdown().await;
}

#[tokio::test]
async fn xread_plus_reads_the_last_entry() {
    // `+` is Redis 7.4's (BullMQ-style readers use it to start from the newest entry).
    let server = server().await;
    let mut con = connect(&server).await;
    let nothing = call(&mut con, &["XREAD", "STREAMS", "log", "+"]).await;
    assert_eq!(nothing, Value::Nil);
    for id in ["1-0", "2-0", "3-0"] {
        call(&mut con, &["XADD", "log", id, "f", "v"]).await;
    }
    let last = read_ids(&call(&mut con, &["XREAD", "STREAMS", "log", "+"]).await);
    assert_eq!(last, vec![("log".to_string(), vec!["3-0".to_string()])]);
    let refused = redis::cmd("XREADGROUP")
        .arg(&["GROUP", "g", "c", "STREAMS", "log", "+"])
        .query_async::<Value>(&mut con)
        .await;
    assert!(refused.is_err());
    server.shutdown().await;
}
