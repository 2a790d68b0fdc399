//! Keyspace notifications: the classes of `notify-keyspace-events` and the publishing of
//! `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>` messages. Commands announce events
//! through `Ctx::notify` (or `State::notify_keyspace_event`), where Redis calls
//! notifyKeyspaceEvent, with Redis's event names.

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: commands on any type (DEL, EXPIRE, RENAME...).
pub const GENERIC: u32 = 1 << 2;
/// `$`
pub const STRING: u32 = 1 << 3;
/// `l`
pub const LIST: u32 = 1 << 4;
/// `s`
pub const SET: u32 = 1 << 5;
/// `h`
pub const HASH: u32 = 1 << 6;
/// `z`
pub const ZSET: u32 = 1 << 7;
/// `x`: a key removed because its TTL passed.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key removed by maxmemory eviction.
pub const EVICTED: u32 = 1 << 9;
/// `t`
pub const STREAM: u32 = 1 << 10;
/// `m`: a read found no key. Not part of `A`.
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module events; accepted for compatibility, Understudy has no modules.
pub const MODULE: u32 = 1 << 12;
/// `n`: a key was created. Not part of `A`.
pub const NEW: u32 = 1 << 13;
/// `A`: every class but `m` and `n`, as in Redis.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parses `notify-keyspace-events` (`KEA`, `Kx`, ...); `None` on a character that names no class.
pub fn parse_classes(text: &str) -> Option<u32> {
    text.chars().try_fold(0, |flags, c| {
        let class = match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
        Some(flags | class)
    })
}

/// The canonical spelling CONFIG GET shows: `A` for all the classes it covers, then the rest in
/// Redis's order.
pub fn classes_to_string(flags: u32) -> String {
    let mut text = String::new();
    if flags & ALL == ALL {
        text.push('A');
    } else {
        for (class, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & class != 0 {
                text.push(c);
            }
        }
    }
    for (class, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & class != 0 {
            text.push(c);
        }
    }
    text
}

/// Does `flags` (the configured classes) publish an event of `class` anywhere?
pub fn enabled(flags: u32, class: u32) -> bool {
    flags & class != 0 && flags & (KEYSPACE | KEYEVENT) != 0
}

/// The channel `__keyspace@<db>__:<key>`.
pub fn keyspace_channel(db: usize, key: &[u8]) -> Vec<u8> {
    let mut channel = format!("__keyspace@{db}__:").into_bytes();
    channel.extend_from_slice(key);
    channel
}

/// The channel `__keyevent@<db>__:<event>`.
pub fn keyevent_channel(db: usize, event: &str) -> Vec<u8> {
    format!("__keyevent@{db}__:{event}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_parse_and_print_as_redis_does() {
        assert_eq!(parse_classes(""), Some(0));
        assert_eq!(parse_classes("X"), None);
        let kea = parse_classes("KEA").unwrap();
        assert_eq!(classes_to_string(kea), "AKE");
        assert_eq!(
            classes_to_string(parse_classes("mnK$gd").unwrap()),
            "g$dnKm"
        );
        assert_eq!(
            classes_to_string(parse_classes("g$lshzxetd").unwrap()),
            "AKE".replace("KE", "")
        );
        assert!(!enabled(parse_classes("A").unwrap(), GENERIC));
        assert!(enabled(parse_classes("Kg").unwrap(), GENERIC));
        assert!(!enabled(parse_classes("Kg").unwrap(), NEW));
    }

    #[test]
    fn channels_are_spelled_as_redis_spells_them() {
        assert_eq!(keyspace_channel(3, b"a:b"), b"__keyspace@3__:a:b");
        assert_eq!(keyevent_channel(0, "del"), b"__keyevent@0__:del");
    }
}
