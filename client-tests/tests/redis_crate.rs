//! The `redis` crate (a real, widely used client) against an in-process Understudy: sync and
//! async connections, RESP2 and RESP3, passwords and databases in the URL, pipelines, pub/sub
//! (sync, async, RESP3 pushes), the ConnectionManager reconnecting, and the embedding API (`start_blocking`, several servers per process, `advance_time`).

use std::time::Duration;

use redis::{AsyncCommands, Commands, Value};

/// The `proto` field of HELLO's reply, as the connection sees it.
fn hello_proto(reply: &Value) -> Option<i64> {
    let pairs: Vec<(&Value, &Value)> = match reply {
        Value::Map(pairs) => pairs.iter().map(|(k, v)| (k, v)).collect(),
        Value::Array(flat) => flat
            .chunks(2)
            .filter_map(|p| Some((p.first()?, p.get(1)?)))
            .collect(),
        _ => return None,
    };
    pairs.into_iter().find_map(|(k, v)| match (k, v) {
        (Value::BulkString(k), Value::Int(n)) if k == b"proto" => Some(*n),
        _ => None,
    })
}

#[test]
fn sync_connection_from_a_plain_test() -> redis::RedisResult<()> {
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let client = redis::Client::open(server.url())?;
    let mut con = client.get_connection()?;
    let _: () = con.set("greeting", "hello")?;
    let got: Option<String> = con.get("greeting")?;
    assert_eq!(got.as_deref(), Some("hello"));
    let missing: Option<String> = con.get("nokey")?;
    assert_eq!(missing, None);
    let _: () = con.set("other", b"\x00\xffbinary".as_slice())?;
    let bytes: Vec<u8> = con.get("other")?;
    assert_eq!(bytes, b"\x00\xffbinary");
    let exists: i64 = con.exists(&["greeting", "other", "nokey", "greeting"])?;
    assert_eq!(exists, 3);
    let deleted: i64 = con.del(&["greeting", "nokey"])?;
    assert_eq!(deleted, 1);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con)?;
    assert_eq!(size, 1);
    let err = redis::cmd("NOSUCH").query::<()>(&mut con).unwrap_err();
    assert_eq!(err.code(), Some("ERR"));
    server.shutdown();
    Ok(())
}

#[tokio::test]
async fn async_multiplexed_connection_resp2() -> redis::RedisResult<()> {
    let server = understudy::Server::builder().port(0).start().await?;
    let client = redis::Client::open(server.url())?;
    let mut con = client.get_multiplexed_async_connection().await?;
    let hello: Value = redis::cmd("HELLO").query_async(&mut con).await?;
    assert_eq!(hello_proto(&hello), Some(2));
    let _: () = con.set("k", "v").await?;
    let got: Option<String> = con.get("k").await?;
    assert_eq!(got.as_deref(), Some("v"));
    // Clones share one connection; their commands interleave and all get their replies.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let mut con = con.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("key:{i}");
            let _: () = con.set(&key, i).await?;
            con.get::<_, i64>(&key).await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.expect("task")?, i as i64);
    }
    let exists: i64 = con.exists("key:7").await?;
    assert_eq!(exists, 1);
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn async_connection_resp3() -> redis::RedisResult<()> {
    let server = understudy::Server::builder().port(0).start().await?;
    let client = redis::Client::open(format!("{}/?protocol=resp3", server.url()))?;
    let mut con = client.get_multiplexed_async_connection().await?;
    let hello: Value = redis::cmd("HELLO").query_async(&mut con).await?;
    assert!(
        matches!(hello, Value::Map(_)),
        "RESP3 HELLO is a map: {hello:?}"
    );
    assert_eq!(hello_proto(&hello), Some(3));
    let nil: Value = redis::cmd("GET").arg("nokey").query_async(&mut con).await?;
    assert_eq!(nil, Value::Nil);
    let _: () = con.set("k", "v").await?;
    let got: String = con.get("k").await?;
    assert_eq!(got, "v");
    server.shutdown().await;
    Ok(())
}

#[test]
fn sync_connection_resp3() -> redis::RedisResult<()> {
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let client = redis::Client::open(format!("{}/?protocol=resp3", server.url()))?;
    let mut con = client.get_connection()?;
    let hello: Value = redis::cmd("HELLO").query(&mut con)?;
    assert_eq!(hello_proto(&hello), Some(3));
    let _: () = con.set("k", 42)?;
    let got: i64 = con.get("k")?;
    assert_eq!(got, 42);
    Ok(())
}

#[tokio::test]
async fn password_and_database_in_the_url() -> redis::RedisResult<()> {
    let server = understudy::Server::builder()
        .port(0)
        .requirepass("pw")
        .start()
        .await?;
    let addr = server.addr();
    for protocol in ["resp2", "resp3"] {
        let url = format!("redis://:pw@{addr}/3?protocol={protocol}");
        let mut con = redis::Client::open(url)?
            .get_multiplexed_async_connection()
            .await?;
        let _: () = con.set(format!("in-db-3-{protocol}"), "yes").await?;
    }
    let mut db0 = redis::Client::open(format!("redis://default:pw@{addr}/0"))?
        .get_multiplexed_async_connection()
        .await?;
    let in_db0: i64 = db0.exists(&["in-db-3-resp2", "in-db-3-resp3"]).await?;
    assert_eq!(in_db0, 0);
    let _: () = redis::cmd("SELECT").arg(3).query_async(&mut db0).await?;
    let in_db3: i64 = db0.exists(&["in-db-3-resp2", "in-db-3-resp3"]).await?;
    assert_eq!(in_db3, 2);

    let wrong = redis::Client::open(format!("redis://:nope@{addr}"))?
        .get_multiplexed_async_connection()
        .await;
    let Err(err) = wrong else {
        panic!("a wrong password is refused");
    };
    assert_eq!(err.kind(), redis::ErrorKind::AuthenticationFailed, "{err}");

    let mut anonymous = redis::Client::open(format!("redis://{addr}"))?
        .get_multiplexed_async_connection()
        .await?;
    let err = anonymous.get::<_, Option<String>>("k").await.unwrap_err();
    assert_eq!(err.code(), Some("NOAUTH"), "{err}");
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn pipelines_and_transactions_of_replies() -> redis::RedisResult<()> {
    let server = understudy::Server::builder().port(0).start().await?;
    let client = redis::Client::open(server.url())?;
    let mut con = client.get_multiplexed_async_connection().await?;
    let (set, get, exists, deleted, gone): (String, String, i64, i64, Option<String>) =
        redis::pipe()
            .set("a", "1")
            .get("a")
            .exists(&["a", "b"])
            .del("a")
            .get("a")
            .query_async(&mut con)
            .await?;
    assert_eq!(
        (set.as_str(), get.as_str(), exists, deleted, gone),
        ("OK", "1", 1, 1, None)
    );
    // A failing command in a pipeline fails the pipeline with its error.
    let err = redis::pipe()
        .set("a", "1")
        .cmd("GET")
        .query_async::<Value>(&mut con)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("wrong number of arguments"),
        "{err}"
    );
    // Big pipelines arrive in many reads and are answered in order.
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.set(format!("k{i}"), i).ignore().get(format!("k{i}"));
    }
    let values: Vec<i64> = pipe.query_async(&mut con).await?;
    assert_eq!(values, (0..2000).collect::<Vec<i64>>());
    server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn two_servers_in_one_process_are_isolated() -> redis::RedisResult<()> {
    let first = understudy::Server::builder().port(0).start().await?;
    let second = understudy::Server::builder().port(0).start().await?;
    assert_ne!(first.addr(), second.addr());
    let mut a = redis::Client::open(first.url())?
        .get_multiplexed_async_connection()
        .await?;
    let mut b = redis::Client::open(second.url())?
        .get_multiplexed_async_connection()
        .await?;
    let _: () = a.set("shared-name", "first").await?;
    let on_second: Option<String> = b.get("shared-name").await?;
    assert_eq!(on_second, None);
    let _: () = b.set("shared-name", "second").await?;
    let on_first: String = a.get("shared-name").await?;
    assert_eq!(on_first, "first");
    let size: i64 = redis::cmd("DBSIZE").query_async(&mut b).await?;
    assert_eq!(size, 1);
    first.shutdown().await;
    // The other server keeps serving.
    let still: String = b.get("shared-name").await?;
    assert_eq!(still, "second");
    second.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn advance_time_expires_keys() -> redis::RedisResult<()> {
    let server = understudy::Server::builder().port(0).start().await?;
    let other = understudy::Server::builder().port(0).start().await?;
    let mut con = redis::Client::open(server.url())?
        .get_multiplexed_async_connection()
        .await?;
    let mut other_con = redis::Client::open(other.url())?
        .get_multiplexed_async_connection()
        .await?;
    for con in [&mut con, &mut other_con] {
        let _: () = con.set("session", "abc").await?;
        let set: i64 = con.expire("session", 60).await?;
        assert_eq!(set, 1);
    }
    server.advance_time(Duration::from_secs(59));
    let alive: Option<String> = con.get("session").await?;
    assert_eq!(alive.as_deref(), Some("abc"));
    server.advance_time(Duration::from_secs(2));
    let gone: Option<String> = con.get("session").await?;
    assert_eq!(gone, None);
    // Each server has its own clock.
    let untouched: Option<String> = other_con.get("session").await?;
    assert_eq!(untouched.as_deref(), Some("abc"));
    Ok(())
}

async fn start() -> understudy::ServerHandle {
    understudy::Server::builder()
        .port(0)
        .start()
        .await
        .expect("start Understudy")
}

#[test]
fn sync_pubsub() -> redis::RedisResult<()> {
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let client = redis::Client::open(server.url())?;
    let mut subscriber = client.get_connection()?;
    let mut publisher = client.get_connection()?;
    let mut pubsub = subscriber.as_pubsub();
    pubsub.subscribe("news")?;
    pubsub.psubscribe("user:*")?;
    let receivers: i64 = publisher.publish("news", "hello")?;
    assert_eq!(receivers, 1);
    let message = pubsub.get_message()?;
    assert_eq!(message.get_channel_name(), "news");
    assert_eq!(message.get_payload::<String>()?, "hello");
    let _: i64 = publisher.publish("user:7", b"\x00\xffbinary".as_slice())?;
    let message = pubsub.get_message()?;
    assert_eq!(message.get_pattern::<String>()?, "user:*");
    assert_eq!(message.get_payload_bytes(), b"\x00\xffbinary");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_pubsub_resp2() -> redis::RedisResult<()> {
    use futures_util::StreamExt;
    let server = start().await;
    let client = redis::Client::open(server.url())?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe("jobs").await?;
    let mut publisher = client.get_multiplexed_async_connection().await?;
    for i in 0..3 {
        let _: i64 = publisher.publish("jobs", format!("job-{i}")).await?;
    }
    let mut stream = pubsub.on_message();
    for i in 0..3 {
        let message = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("a message within 5 s")
            .expect("the stream is open");
        assert_eq!(message.get_payload::<String>()?, format!("job-{i}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_pushes_on_a_multiplexed_connection() -> redis::RedisResult<()> {
    let server = start().await;
    let client = redis::Client::open(format!("{}/?protocol=resp3", server.url()))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let config = redis::AsyncConnectionConfig::new().set_push_sender(tx);
    let mut subscriber = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    subscriber.subscribe("alerts").await?;
    // The same connection keeps serving commands while subscribed (RESP3).
    let _: () = subscriber.set("k", "v").await?;
    let value: String = subscriber.get("k").await?;
    assert_eq!(value, "v");
    let mut publisher = client.get_multiplexed_async_connection().await?;
    let _: i64 = publisher.publish("alerts", "fire").await?;
    let message = loop {
        let push = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a push within 5 s")
            .expect("the push channel is open");
        if push.kind == redis::PushKind::Message {
            break push;
        }
    };
    assert_eq!(
        message.data,
        vec![
            Value::BulkString(b"alerts".to_vec()),
            Value::BulkString(b"fire".to_vec())
        ]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_manager_reconnects_after_a_kill() -> redis::RedisResult<()> {
    let server = start().await;
    let client = redis::Client::open(server.url())?;
    let mut manager = client.get_connection_manager().await?;
    let _: () = manager.set("survives", "yes").await?;
    let id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut manager)
        .await?;
    let mut admin = client.get_multiplexed_async_connection().await?;
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query_async(&mut admin)
        .await?;
    assert_eq!(killed, 1);
    // The first command after the kill may fail; the manager then reconnects by itself.
    let mut value = None;
    for _ in 0..50 {
        match manager.get::<_, String>("survives").await {
            Ok(v) => {
                value = Some(v);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert_eq!(value.as_deref(), Some("yes"));
    Ok(())
}
