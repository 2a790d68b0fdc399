//! SPOP and SRANDMEMBER against an in-process Understudy with the `redis` crate: their replies
//! are random, so instead of comparing bytes with Redis this checks what Redis guarantees:
//! counts, distinctness (or repetition for negative counts) and membership, in every encoding.

use std::collections::HashSet;

use redis::{Commands, Connection};

/// The three encodings: intset, listpack (small, non-integer) and hashtable (large).
fn fill(con: &mut Connection) -> redis::RedisResult<Vec<(&'static str, HashSet<String>)>> {
    let ints: HashSet<String> = (0..20).map(|i| (i * 7).to_string()).collect();
    let words: HashSet<String> = (0..20).map(|i| format!("w{i}")).collect();
    let many: HashSet<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut out = Vec::new();
    for (key, members, encoding) in [
        ("ints", ints, "intset"),
        ("words", words, "listpack"),
        ("many", many, "hashtable"),
    ] {
        let _: i64 = con.sadd(key, members.iter().collect::<Vec<_>>())?;
        let enc: String = redis::cmd("OBJECT").arg("ENCODING").arg(key).query(con)?;
        assert_eq!(enc, encoding, "{key}");
        out.push((key, members));
    }
    Ok(out)
}

fn connect() -> (understudy::BlockingServerHandle, Connection) {
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let con = redis::Client::open(server.url())
        .and_then(|c| c.get_connection())
        .expect("connect");
    (server, con)
}

#[test]
fn srandmember_counts_distinctness_and_membership() -> redis::RedisResult<()> {
    let (server, mut con) = connect();
    for (key, members) in fill(&mut con)? {
        let size = members.len() as i64;
        for count in [
            1,
            2,
            5,
            size / 3,
            size / 2,
            size - 1,
            size,
            size + 5,
            100_000,
        ] {
            let got: Vec<String> = con.srandmember_multiple(key, count as usize)?;
            let distinct: HashSet<&String> = got.iter().collect();
            assert_eq!(got.len() as i64, count.min(size), "{key} {count}");
            assert_eq!(distinct.len(), got.len(), "{key} {count}: repeated");
            assert!(got.iter().all(|m| members.contains(m)), "{key} {count}");
        }
        for count in [1, 3, size, 3 * size] {
            let got: Vec<String> = redis::cmd("SRANDMEMBER")
                .arg(key)
                .arg(-count)
                .query(&mut con)?;
            assert_eq!(got.len() as i64, count, "{key} -{count}");
            assert!(got.iter().all(|m| members.contains(m)), "{key} -{count}");
        }
        // Asking for many more than the set holds, with repetition, shows repetition.
        let got: Vec<String> = redis::cmd("SRANDMEMBER")
            .arg(key)
            .arg(-5000)
            .query(&mut con)?;
        let distinct: HashSet<&String> = got.iter().collect();
        assert!(distinct.len() < got.len(), "{key}");
        let one: String = con.srandmember(key)?;
        assert!(members.contains(&one));
        let card: i64 = con.scard(key)?;
        assert_eq!(card, size, "SRANDMEMBER must not remove");
    }
    server.shutdown();
    Ok(())
}

#[test]
fn spop_removes_what_it_returns() -> redis::RedisResult<()> {
    let (server, mut con) = connect();
    for (key, members) in fill(&mut con)? {
        let mut left = members.clone();
        // Small counts pop one by one; a count close to the size rebuilds the remainder.
        let size = members.len();
        for step in 0..4 {
            let count = [1, 2, size / 10, left.len() * 6 / 7][step];
            let got: Vec<String> = redis::cmd("SPOP").arg(key).arg(count).query(&mut con)?;
            let distinct: HashSet<&String> = got.iter().collect();
            assert_eq!((got.len(), distinct.len()), (count, count), "{key} {count}");
            for m in &got {
                assert!(left.remove(m), "{key}: {m} popped twice or never there");
            }
            let card: usize = con.scard(key)?;
            assert_eq!(card, left.len(), "{key}");
            let rest: HashSet<String> = con.smembers(key)?;
            assert_eq!(rest, left, "{key}");
        }
        let one: String = con.spop(key)?;
        assert!(left.remove(&one));
        let rest: Vec<String> = redis::cmd("SPOP").arg(key).arg(size).query(&mut con)?;
        assert_eq!(rest.into_iter().collect::<HashSet<_>>(), left, "{key}");
        let exists: bool = con.exists(key)?;
        assert!(!exists, "{key} must disappear when emptied");
    }
    server.shutdown();
    Ok(())
}
