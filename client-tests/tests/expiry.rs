//! Keys whose deadline passes are removed by the server's active expiry cycle, without anyone
//! reading them.

use std::time::Duration;

use client_tests::Conn;

#[tokio::test]
async fn active_cycle_removes_expired_keys_nobody_reads() {
    let server = understudy::Server::builder().port(0).start().await.unwrap();
    let mut conn = Conn::connect(server.addr()).await.unwrap();

    let mut expected = String::new();
    let mut request = String::new();
    for i in 0..50 {
        request.push_str(&format!("SET short:{i} v\r\nPEXPIRE short:{i} 5000\r\n"));
        expected.push_str("+OK\r\n:1\r\n");
    }
    request.push_str("SET long v\r\nEXPIRE long 3600\r\nSET forever v\r\nDBSIZE\r\n");
    expected.push_str("+OK\r\n:1\r\n+OK\r\n:52\r\n");
    conn.expect(&request, &expected).await;

    server.advance_time(Duration::from_secs(10));

    // Only DBSIZE from now on: it counts keys without looking any of them up.
    let mut size = 52;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let reply = conn.call("DBSIZE").await;
        let text = String::from_utf8_lossy(&reply).to_string();
        size = text.trim().trim_start_matches(':').parse().unwrap();
        if size == 2 {
            break;
        }
    }
    assert_eq!(
        size, 2,
        "the active cycle should leave only the two live keys"
    );
    conn.expect("TTL long\r\nTTL forever\r\n", ":3590\r\n:-1\r\n")
        .await;
    server.shutdown().await;
}
