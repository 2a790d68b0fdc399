//! Every tunable in one table. The binary's flags and config file, CONFIG GET/SET/REWRITE and the
//! server all read and write parameters through `Config`, by Redis's parameter names.

use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `yes` / `no`.
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// A byte count written with Redis's units (`1gb`, `512mb`, `100k`); read back in bytes.
    Memory,
    /// One of a fixed set of lowercase words.
    Enum(&'static [&'static str]),
    /// Free text.
    Text,
    /// `save`: pairs of `<seconds> <changes>`, or empty.
    SaveRules,
    /// An octal permission mask (`unixsocketperm`).
    Octal,
    /// `notify-keyspace-events`: class letters, kept in Redis's canonical spelling.
    KeyspaceEvents,
    /// `client-output-buffer-limit`: `<class> <hard> <soft> <soft-seconds>` triples; a value
    /// naming some classes leaves the others as they were.
    OutputBufferLimits,
}

struct ParamDef {
    name: &'static str,
    alias: Option<&'static str>,
    kind: Kind,
    default: &'static str,
    /// Only settable at start-up (flags and config file), not with CONFIG SET.
    immutable: bool,
}

const fn param(name: &'static str, kind: Kind, default: &'static str) -> ParamDef {
    ParamDef {
        name,
        alias: None,
        kind,
        default,
        immutable: false,
    }
}

const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> ParamDef {
    ParamDef {
        name,
        alias: None,
        kind,
        default,
        immutable: true,
    }
}

/// A parameter also known by its pre-7.0 name (`ziplist` for `listpack`).
const fn aliased(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> ParamDef {
    ParamDef {
        name,
        alias: Some(alias),
        kind,
        default,
        immutable: false,
    }
}

const NON_NEGATIVE: Kind = Kind::Int {
    min: 0,
    max: i64::MAX,
};
const ANY_INT: Kind = Kind::Int {
    min: i64::MIN,
    max: i64::MAX,
};

static PARAMS: &[ParamDef] = &[
    param("bind", Kind::Text, "127.0.0.1 -::1"),
    param("port", Kind::Int { min: 0, max: 65535 }, "6379"),
    fixed("unixsocket", Kind::Text, ""),
    fixed("unixsocketperm", Kind::Octal, "0"),
    param("requirepass", Kind::Text, ""),
    fixed(
        "databases",
        Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        "16",
    ),
    param(
        "maxclients",
        Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        "10000",
    ),
    param(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        "notice",
    ),
    fixed("logfile", Kind::Text, ""),
    fixed("daemonize", Kind::Bool, "no"),
    param("timeout", NON_NEGATIVE, "0"),
    param("tcp-keepalive", NON_NEGATIVE, "300"),
    param("protected-mode", Kind::Bool, "yes"),
    fixed("io-threads", Kind::Int { min: 1, max: 128 }, "1"),
    // Understudy's own: how long after a request the worker keeps polling for the next one
    // (net/busy_poll.rs); 0 sleeps at once, as Redis does.
    param(
        "busy-poll-us",
        Kind::Int {
            min: 0,
            max: 1_000_000,
        },
        "100",
    ),
    param("hz", Kind::Int { min: 1, max: 500 }, "10"),
    param(
        "proto-max-bulk-len",
        Kind::Memory,
        "536870912", // 512mb
    ),
    param("client-query-buffer-limit", Kind::Memory, "1073741824"),
    param("maxmemory", Kind::Memory, "0"),
    param(
        "maxmemory-policy",
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
    ),
    param("maxmemory-samples", Kind::Int { min: 1, max: 64 }, "5"),
    param(
        "maxmemory-eviction-tenacity",
        Kind::Int { min: 0, max: 100 },
        "10",
    ),
    param("lazyfree-lazy-eviction", Kind::Bool, "no"),
    param("notify-keyspace-events", Kind::KeyspaceEvents, ""),
    param(
        "client-output-buffer-limit",
        Kind::OutputBufferLimits,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    param("slowlog-log-slower-than", ANY_INT, "10000"),
    param("slowlog-max-len", NON_NEGATIVE, "128"),
    // How long a script runs before other clients get -BUSY and SCRIPT KILL may stop it.
    aliased(
        "busy-reply-threshold",
        "lua-time-limit",
        NON_NEGATIVE,
        "5000",
    ),
    // Compact encodings of small collections (defaults as the reference redis-server 7.0).
    aliased(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        NON_NEGATIVE,
        "512",
    ),
    aliased(
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        NON_NEGATIVE,
        "64",
    ),
    aliased(
        "list-max-listpack-size",
        "list-max-ziplist-size",
        Kind::Int {
            min: i32::MIN as i64,
            max: i32::MAX as i64,
        },
        "-2",
    ),
    param("list-compress-depth", NON_NEGATIVE, "0"),
    param("set-max-intset-entries", NON_NEGATIVE, "512"),
    param("set-max-listpack-entries", NON_NEGATIVE, "128"),
    param("set-max-listpack-value", NON_NEGATIVE, "64"),
    aliased(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        NON_NEGATIVE,
        "128",
    ),
    aliased(
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        NON_NEGATIVE,
        "64",
    ),
    param("stream-node-max-bytes", Kind::Memory, "4096"),
    param("stream-node-max-entries", NON_NEGATIVE, "100"),
    // Persistence: accepted from the start so that existing config files and compose files work.
    param("save", Kind::SaveRules, "3600 1 300 100 60 10000"),
    param("appendonly", Kind::Bool, "no"),
    param(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
    ),
    fixed("appendfilename", Kind::Text, "appendonly.aof"),
    fixed("appenddirname", Kind::Text, "appendonlydir"),
    param("auto-aof-rewrite-percentage", NON_NEGATIVE, "100"),
    param("auto-aof-rewrite-min-size", Kind::Memory, "67108864"),
    param("aof-load-truncated", Kind::Bool, "yes"),
    param("aof-use-rdb-preamble", Kind::Bool, "yes"),
    param("aof-timestamp-enabled", Kind::Bool, "no"),
    param("no-appendfsync-on-rewrite", Kind::Bool, "no"),
    param("dir", Kind::Text, ""),
    param("dbfilename", Kind::Text, "dump.rdb"),
    param("rdbcompression", Kind::Bool, "yes"),
    param("rdbchecksum", Kind::Bool, "yes"),
    param("stop-writes-on-bgsave-error", Kind::Bool, "yes"),
];

/// Parameter values, by Redis's names.
#[derive(Debug, Clone)]
pub struct Config {
    /// Canonical text of every parameter, in `PARAMS` order.
    values: Vec<String>,
    /// The config file the server was started with, for CONFIG REWRITE.
    pub file: Option<PathBuf>,
    /// Parameters read on every request, kept parsed.
    pub hot: Hot,
    /// `notify-keyspace-events` as set, in class bits. The canonical text cannot carry them all:
    /// Redis spells `A` plus `n` as just `A` (CONFIG GET shows `AKE` for `KEAn`) yet keeps
    /// announcing new keys.
    keyspace_events: u32,
}

/// Parameters the request path reads for every command, parsed once when they are set, so
/// that reading them costs no lookup, allocation or parse.
#[derive(Debug, Clone, Default)]
pub struct Hot {
    pub slowlog_log_slower_than: i64,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub list_max_listpack_size: i64,
    pub set_max_intset_entries: usize,
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub stream_node_max_bytes: usize,
    pub stream_node_max_entries: usize,
    pub slowlog_max_len: usize,
    /// `timeout`, in seconds; 0 for none.
    pub timeout: u64,
    pub requirepass_set: bool,
    /// `maxmemory` in bytes; 0 for no limit. Read before every command.
    pub maxmemory: u64,
    /// `notify-keyspace-events` as class bits (`crate::notify`).
    pub notify_classes: u32,
    /// `client-output-buffer-limit`, by [`ClientClass`].
    pub output_limits: [OutputLimit; 3],
}

/// The classes `client-output-buffer-limit` distinguishes, as indexes of `Hot::output_limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClass {
    Normal = 0,
    Replica = 1,
    PubSub = 2,
}

/// One class's output buffer limits: close the client past `hard` bytes, or once it has stayed
/// past `soft` bytes for `soft_seconds`. Zero means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: i64,
}

const OUTPUT_CLASS_NAMES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Parses `client-output-buffer-limit` over `current` (the classes it does not name keep their
/// limits), with Redis's error texts.
fn parse_output_limits(value: &str, current: &str) -> Result<[OutputLimit; 3], String> {
    let mut limits = if current.is_empty() {
        [OutputLimit::default(); 3]
    } else {
        parse_output_limits(current, "")?
    };
    let words: Vec<&str> = value.split_whitespace().collect();
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    for triple in words.chunks(4) {
        let class = match triple[0].to_ascii_lowercase().as_str() {
            "normal" => ClientClass::Normal,
            "slave" | "replica" => ClientClass::Replica,
            "pubsub" => ClientClass::PubSub,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = parse_memory(triple[1]).ok_or_else(bad)?;
        let soft = parse_memory(triple[2]).ok_or_else(bad)?;
        let soft_seconds: i64 = triple[3].parse().map_err(|_| bad())?;
        if soft_seconds < 0 {
            return Err(bad().into());
        }
        limits[class as usize] = OutputLimit {
            hard,
            soft,
            soft_seconds,
        };
    }
    Ok(limits)
}

fn output_limits_to_string(limits: &[OutputLimit; 3]) -> String {
    OUTPUT_CLASS_NAMES
        .iter()
        .zip(limits)
        .map(|(name, l)| format!("{name} {} {} {}", l.hard, l.soft, l.soft_seconds))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a parameter could not be set; the text Redis puts after `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    Unknown,
    Immutable,
    Invalid(String),
}

fn index() -> &'static HashMap<&'static str, usize> {
    static INDEX: std::sync::OnceLock<HashMap<&'static str, usize>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map = HashMap::new();
        for (i, p) in PARAMS.iter().enumerate() {
            map.insert(p.name, i);
            if let Some(alias) = p.alias {
                map.insert(alias, i);
            }
        }
        map
    })
}

impl Default for Config {
    fn default() -> Self {
        let dir = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "/".into());
        let values = PARAMS
            .iter()
            .map(|p| {
                if p.name == "dir" {
                    dir.clone()
                } else {
                    p.default.to_string()
                }
            })
            .collect();
        let mut config = Config {
            values,
            file: None,
            hot: Hot::default(),
            keyspace_events: 0,
        };
        config.refresh_hot();
        config
    }
}

impl Config {
    fn slot(name: &str) -> Option<usize> {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            index().get(name.to_ascii_lowercase().as_str()).copied()
        } else {
            index().get(name).copied()
        }
    }

    fn refresh_hot(&mut self) {
        let size = |name: &str| self.int(name).max(0) as usize;
        self.hot = Hot {
            slowlog_log_slower_than: self.int("slowlog-log-slower-than"),
            hash_max_listpack_entries: size("hash-max-listpack-entries"),
            hash_max_listpack_value: size("hash-max-listpack-value"),
            list_max_listpack_size: self.int("list-max-listpack-size"),
            set_max_intset_entries: size("set-max-intset-entries"),
            set_max_listpack_entries: size("set-max-listpack-entries"),
            set_max_listpack_value: size("set-max-listpack-value"),
            zset_max_listpack_entries: size("zset-max-listpack-entries"),
            zset_max_listpack_value: size("zset-max-listpack-value"),
            stream_node_max_bytes: size("stream-node-max-bytes"),
            stream_node_max_entries: size("stream-node-max-entries"),
            slowlog_max_len: self.int("slowlog-max-len").max(0) as usize,
            timeout: self.int("timeout").max(0) as u64,
            requirepass_set: !self.text("requirepass").is_empty(),
            maxmemory: self.int("maxmemory").max(0) as u64,
            notify_classes: self.keyspace_events,
            output_limits: parse_output_limits(self.text("client-output-buffer-limit"), "")
                .unwrap_or_default(),
        };
    }

    /// The canonical text of a parameter (`yes`, a byte count, ...).
    pub fn get(&self, name: &str) -> Option<&str> {
        Self::slot(name).map(|i| self.values[i].as_str())
    }

    /// Sets a parameter as CONFIG SET does: immutable ones are refused.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let i = Self::slot(name).ok_or(ConfigError::Unknown)?;
        if PARAMS[i].immutable {
            return Err(ConfigError::Immutable);
        }
        self.store(i, value)
    }

    /// Sets a parameter at start-up (flags, config file), where immutable ones are allowed.
    pub fn set_at_startup(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let i = Self::slot(name).ok_or(ConfigError::Unknown)?;
        self.store(i, value)
    }

    fn store(&mut self, i: usize, value: &str) -> Result<(), ConfigError> {
        self.values[i] = normalize(PARAMS[i].kind, value, &self.values[i])?;
        if matches!(PARAMS[i].kind, Kind::KeyspaceEvents) {
            self.keyspace_events = crate::notify::parse_classes(value).unwrap_or(0);
        }
        self.refresh_hot();
        Ok(())
    }

    pub fn is_known(name: &str) -> bool {
        Self::slot(name).is_some()
    }

    /// Every parameter as (name, value), in table order, and again under its alias if it has
    /// one (CONFIG GET's patterns match both, as in Redis).
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &str)> {
        PARAMS.iter().zip(&self.values).flat_map(|(p, v)| {
            std::iter::once((p.name, v.as_str())).chain(p.alias.map(|alias| (alias, v.as_str())))
        })
    }

    /// Every parameter that differs from its default, for CONFIG REWRITE.
    pub fn non_defaults(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let default = Config::default();
        PARAMS
            .iter()
            .zip(&self.values)
            .zip(default.values)
            .filter(|((_, v), d)| *v != d)
            .map(|((p, v), _)| (p.name, v.as_str()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    pub fn int(&self, name: &str) -> i64 {
        self.get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("config parameter {name} is not an integer"))
    }

    pub fn flag(&self, name: &str) -> bool {
        self.get(name) == Some("yes")
    }

    pub fn text(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("unknown config parameter {name}"))
    }

    /// Loads `name value...` lines (a redis.conf) into this config.
    pub fn load_file_text(&mut self, text: &str) -> Result<(), String> {
        for (lineno, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = Vec::new();
            let mut ranges = Vec::new();
            if !crate::protocol::request::split_inline_args(
                line.as_bytes(),
                &mut words,
                &mut ranges,
            ) {
                return Err(format!("line {}: unbalanced quotes", lineno + 1));
            }
            let words: Vec<String> = ranges
                .iter()
                .map(|r| String::from_utf8_lossy(&words[r.clone()]).into_owned())
                .collect();
            let name = words[0].to_ascii_lowercase();
            let value = words[1..].join(" ");
            self.set_at_startup(&name, &value).map_err(|e| {
                format!(
                    "line {}: '{}': {}",
                    lineno + 1,
                    line,
                    match e {
                        ConfigError::Unknown => "Bad directive or wrong number of arguments".into(),
                        ConfigError::Immutable => "can't set immutable config".into(),
                        ConfigError::Invalid(why) => why,
                    }
                )
            })?;
        }
        Ok(())
    }
}

/// The canonical text of `value` for a parameter of `kind` whose value is now `current`.
fn normalize(kind: Kind, value: &str, current: &str) -> Result<String, ConfigError> {
    match kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err(ConfigError::Invalid(
                "argument must be 'yes' or 'no'".into(),
            )),
        },
        Kind::Int { min, max } => {
            let n: i64 = value.parse().map_err(|_| {
                ConfigError::Invalid("argument couldn't be parsed into an integer".into())
            })?;
            if n < min || n > max {
                return Err(ConfigError::Invalid(format!(
                    "argument must be between {min} and {max} inclusive"
                )));
            }
            Ok(n.to_string())
        }
        Kind::Memory => parse_memory(value)
            .map(|n| n.to_string())
            .ok_or_else(|| ConfigError::Invalid("argument must be a memory value".into())),
        Kind::Enum(words) => {
            let lower = value.to_ascii_lowercase();
            if words.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(ConfigError::Invalid(format!(
                    "argument(s) must be one of the following: {}",
                    words.join(", ")
                )))
            }
        }
        Kind::Text => Ok(value.to_string()),
        Kind::SaveRules => {
            let words: Vec<&str> = value.split_whitespace().collect();
            if !words.len().is_multiple_of(2) || words.iter().any(|w| w.parse::<u64>().is_err()) {
                return Err(ConfigError::Invalid("Invalid save parameters".into()));
            }
            Ok(words.join(" "))
        }
        Kind::KeyspaceEvents => crate::notify::parse_classes(value)
            .map(crate::notify::classes_to_string)
            .ok_or_else(|| {
                ConfigError::Invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
            }),
        Kind::OutputBufferLimits => parse_output_limits(value, current)
            .map(|limits| output_limits_to_string(&limits))
            .map_err(ConfigError::Invalid),
        Kind::Octal => u32::from_str_radix(value, 8)
            .map(|n| format!("{n:o}"))
            .map_err(|_| {
                ConfigError::Invalid("argument couldn't be parsed into an integer".into())
            }),
    }
}

/// Redis's `memtoull`: digits with an optional unit (b, k, kb, m, mb, g, gb; any case).
pub fn parse_memory(value: &str) -> Option<u64> {
    let lower = value.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(digits_end);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalized() {
        let mut c = Config::default();
        c.set("maxmemory", "1gb").unwrap();
        assert_eq!(c.get("maxmemory"), Some("1073741824"));
        c.set("appendonly", "YES").unwrap();
        assert_eq!(c.get("appendonly"), Some("yes"));
        assert_eq!(c.set("databases", "4"), Err(ConfigError::Immutable));
        assert!(matches!(c.set("hz", "abc"), Err(ConfigError::Invalid(_))));
        assert_eq!(c.set("nope", "1"), Err(ConfigError::Unknown));
    }

    #[test]
    fn busy_poll_window_is_understudys_own_parameter() {
        let mut c = Config::default();
        assert_eq!(c.get("busy-poll-us"), Some("100"));
        c.set("busy-poll-us", "0").unwrap();
        assert_eq!(c.int("busy-poll-us"), 0);
        assert!(matches!(
            c.set("busy-poll-us", "-1"),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn new_key_events_stay_on_though_the_text_hides_them() {
        let mut c = Config::default();
        c.set("notify-keyspace-events", "KEAn").unwrap();
        assert_eq!(c.get("notify-keyspace-events"), Some("AKE"));
        assert_ne!(c.hot.notify_classes & crate::notify::NEW, 0);
        c.set("notify-keyspace-events", "").unwrap();
        assert_eq!(c.hot.notify_classes, 0);
    }

    #[test]
    fn aliases_reach_the_same_parameter() {
        let mut c = Config::default();
        c.set("hash-max-ziplist-entries", "64").unwrap();
        assert_eq!(c.get("hash-max-listpack-entries"), Some("64"));
        assert_eq!(c.hot.hash_max_listpack_entries, 64);
        assert!(c
            .all()
            .any(|(name, v)| name == "hash-max-ziplist-entries" && v == "64"));
    }

    #[test]
    fn output_buffer_limits_merge_by_class() {
        let mut c = Config::default();
        c.set("client-output-buffer-limit", "pubsub 1mb 512kb 10")
            .unwrap();
        assert_eq!(
            c.get("client-output-buffer-limit"),
            Some("normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10")
        );
        assert_eq!(
            c.hot.output_limits[ClientClass::PubSub as usize],
            OutputLimit {
                hard: 1048576,
                soft: 524288,
                soft_seconds: 10
            }
        );
        c.set("client-output-buffer-limit", "replica 1 1 1")
            .unwrap();
        assert_eq!(
            c.get("client-output-buffer-limit"),
            Some("normal 0 0 0 slave 1 1 1 pubsub 1048576 524288 10")
        );
        for bad in ["pubsub 1mb 512kb", "foo 1 1 1", "normal 1x 1 1"] {
            assert!(matches!(
                c.set("client-output-buffer-limit", bad),
                Err(ConfigError::Invalid(_))
            ));
        }
    }

    #[test]
    fn config_files_load() {
        let mut c = Config::default();
        c.load_file_text("# comment\nport 7000\nsave \"\"\nappendonly yes\ndatabases 4\n")
            .unwrap();
        assert_eq!(c.int("port"), 7000);
        assert_eq!(c.get("save"), Some(""));
        assert!(c.flag("appendonly"));
        assert_eq!(c.int("databases"), 4);
        assert!(c.load_file_text("bogus 1\n").is_err());
        // Each client-output-buffer-limit line sets its class, as in redis.conf.
        c.load_file_text(
            "notify-keyspace-events Ex\nclient-output-buffer-limit pubsub 1mb 256kb 5\n\
             client-output-buffer-limit normal 10mb 0 0\n",
        )
        .unwrap();
        assert_eq!(c.get("notify-keyspace-events"), Some("xE"));
        assert_eq!(
            c.get("client-output-buffer-limit"),
            Some("normal 10485760 0 0 slave 268435456 67108864 60 pubsub 1048576 262144 5")
        );
    }
}
