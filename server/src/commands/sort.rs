//! SORT and SORT_RO: the elements of a list, set or sorted set, sorted numerically or
//! lexicographically, by themselves or by keys built from them (BY), optionally replaced by
//! such keys' values (GET), sliced (LIMIT), and returned or stored as a list (STORE).

use super::table::{command, CommandDef};
use super::{errors, CmdError, CmdResult, Ctx};
use crate::notify;
use crate::protocol::request::parse_i64;
use crate::protocol::Args;
use crate::store::list::{End, ListValue};
use crate::store::{Db, Value};

pub const COMMANDS: &[CommandDef] = &[
    command(
        "sort",
        -2,
        "write denyoom",
        "@set @sortedset @list @dangerous",
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Sorts the elements of a list, set or sorted set, optionally storing the result.",
        sort,
    )
    .movable_keys(sort_keys),
    command(
        "sort_ro",
        -2,
        "readonly",
        "@set @sortedset @list @dangerous",
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Sorts the elements of a list, set or sorted set (never stores).",
        sort_ro,
    )
    .movable_keys(sort_ro_keys),
];

/// SORT's keys: the sorted key, and the STORE destination if there is one.
fn sort_keys(args: Args<'_>) -> Vec<usize> {
    let mut keys = vec![1];
    let mut i = 2;
    while i < args.len() {
        let word = &args[i];
        let takes = if word.eq_ignore_ascii_case(b"limit") {
            2
        } else if word.eq_ignore_ascii_case(b"by") || word.eq_ignore_ascii_case(b"get") {
            1
        } else if word.eq_ignore_ascii_case(b"store") {
            if i + 1 < args.len() {
                keys.push(i + 1);
            }
            1
        } else {
            0
        };
        i += 1 + takes;
    }
    keys
}

/// SORT_RO reads one key, but BY and GET patterns may read others, so Redis marks its keys
/// movable too.
fn sort_ro_keys(_args: Args<'_>) -> Vec<usize> {
    vec![1]
}

fn sort(ctx: &mut Ctx) -> CmdResult {
    sort_generic(ctx, false)
}

fn sort_ro(ctx: &mut Ctx) -> CmdResult {
    sort_generic(ctx, true)
}

struct Options<'a> {
    desc: bool,
    alpha: bool,
    /// (offset, count); a negative count means "to the end".
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

fn parse_options<'a>(ctx: &Ctx<'a>, read_only: bool) -> Result<Options<'a>, CmdError> {
    let mut options = Options {
        desc: false,
        alpha: false,
        limit: None,
        by: None,
        gets: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < ctx.argc() {
        let left = ctx.argc() - j - 1;
        if ctx.arg_is(j, "asc") {
            options.desc = false;
        } else if ctx.arg_is(j, "desc") {
            options.desc = true;
        } else if ctx.arg_is(j, "alpha") {
            options.alpha = true;
        } else if ctx.arg_is(j, "limit") && left >= 2 {
            let offset = parse_i64(ctx.arg(j + 1)).ok_or(errors::NOT_INTEGER)?;
            let count = parse_i64(ctx.arg(j + 2)).ok_or(errors::NOT_INTEGER)?;
            options.limit = Some((offset, count));
            j += 2;
        } else if ctx.arg_is(j, "store") && left >= 1 && !read_only {
            options.store = Some(ctx.arg(j + 1));
            j += 1;
        } else if ctx.arg_is(j, "by") && left >= 1 {
            options.by = Some(ctx.arg(j + 1));
            j += 1;
        } else if ctx.arg_is(j, "get") && left >= 1 {
            options.gets.push(ctx.arg(j + 1));
            j += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    Ok(options)
}

/// Redis's lookupKeyByPattern: `#` is the element itself; otherwise the first `*` of the
/// pattern is replaced by the element, and a `->field` suffix reads a hash field instead of a
/// string. A pattern without `*` finds nothing. The key is looked up for reading, as in Redis: a
/// missing one is a keyspace miss (and a `keymiss` event), an expired one goes.
fn lookup_by_pattern(db: &mut Db, pattern: &[u8], element: &[u8], now_ms: i64) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after.windows(2).position(|w| w == b"->");
    let (suffix, field) = match arrow {
        Some(at) if at + 2 < after.len() => (&after[..at], Some(&after[at + 2..])),
        _ => (after, None),
    };
    let mut key = pattern[..star].to_vec();
    key.extend_from_slice(element);
    key.extend_from_slice(suffix);
    match (db.get(&key, now_ms), field) {
        (Some(Value::String(s)), None) => Some(s.as_bytes().to_vec()),
        (Some(Value::Hash(h)), Some(field)) => h.get(field).map(<[u8]>::to_vec),
        _ => None,
    }
}

/// What an element sorts by: a number, or bytes (ALPHA), or nothing (a missing BY key).
enum SortKey {
    Score(f64),
    Bytes(Option<Vec<u8>>),
}

/// strtod over the whole text, as Redis reads scores for SORT: anything left over, a NaN or a
/// value out of range is an error.
fn parse_score(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    if text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let value: f64 = text.trim_end_matches('\0').parse().ok()?;
    (!value.is_nan() && value.is_finite()).then_some(value)
}

fn sort_generic(ctx: &mut Ctx, read_only: bool) -> CmdResult {
    let options = parse_options(ctx, read_only)?;
    let (key, now) = (ctx.arg(1), ctx.now_ms);
    let db_index = ctx.db;
    let db = &mut ctx.state.dbs[db_index];
    // A BY pattern without `*` means "do not sort" (SORT key BY nosort).
    let mut dont_sort = options.by.is_some_and(|p| !p.contains(&b'*'));
    let mut alpha = options.alpha;
    let mut by = options.by;
    let elements: Vec<Vec<u8>> = match db.get(key, now) {
        None => Vec::new(),
        Some(Value::List(list)) => {
            // Unsorted, DESC walks the list from its tail.
            let from_tail = dont_sort && options.desc;
            let start = if from_tail {
                list.len().saturating_sub(1)
            } else {
                0
            };
            list.iter_at(start, from_tail).map(|e| e.to_vec()).collect()
        }
        Some(Value::Set(set)) => {
            // Unsorted set output would differ between runs, so Redis sorts it by the
            // elements themselves when storing.
            if dont_sort && options.store.is_some() {
                dont_sort = false;
                alpha = true;
                by = None;
            }
            set.iter().map(|m| m.to_vec()).collect()
        }
        Some(Value::ZSet(zset)) => {
            let mut members = Vec::with_capacity(zset.len());
            zset.walk(0, dont_sort && options.desc, |member, _| {
                members.push(member.to_vec());
                true
            });
            members
        }
        Some(_) => return Err(errors::WRONGTYPE.into()),
    };

    let mut items: Vec<(Vec<u8>, SortKey)> = Vec::with_capacity(elements.len());
    for element in elements {
        let source = match by {
            Some(pattern) if !dont_sort => lookup_by_pattern(db, pattern, &element, now),
            _ => Some(element.clone()),
        };
        let sort_key = if alpha {
            SortKey::Bytes(source)
        } else if dont_sort {
            SortKey::Score(0.0)
        } else {
            match source {
                Some(text) => SortKey::Score(
                    parse_score(&text)
                        .ok_or("ERR One or more scores can't be converted into double")?,
                ),
                None => SortKey::Score(0.0),
            }
        };
        items.push((element, sort_key));
    }
    if !dont_sort {
        items.sort_by(|(a, ka), (b, kb)| {
            let order = match (ka, kb) {
                (SortKey::Score(x), SortKey::Score(y)) => x
                    .partial_cmp(y)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| a.cmp(b)),
                (SortKey::Bytes(x), SortKey::Bytes(y)) => x.cmp(y),
                _ => std::cmp::Ordering::Equal,
            };
            if options.desc {
                order.reverse()
            } else {
                order
            }
        });
    }

    // LIMIT, clamped as Redis clamps it.
    let len = items.len() as i64;
    let (mut start, mut end) = match options.limit {
        Some((offset, count)) => {
            let start = offset.max(0);
            let end = if count < 0 {
                len - 1
            } else {
                start + count - 1
            };
            (start, end)
        }
        None => (0, len - 1),
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let selected = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &items[..0]
    };

    let mut output: Vec<Option<Vec<u8>>> = Vec::new();
    for (element, _) in selected {
        if options.gets.is_empty() {
            output.push(Some(element.clone()));
        }
        for pattern in &options.gets {
            output.push(lookup_by_pattern(db, pattern, element, now));
        }
    }

    match options.store {
        None => {
            ctx.out.array(output.len());
            for value in &output {
                match value {
                    Some(v) => ctx.out.bulk(v),
                    None => ctx.out.null(),
                }
            }
        }
        Some(dest) => {
            let stored = output.len() as i64;
            if output.is_empty() {
                if db.remove(dest).is_some() {
                    ctx.modified(dest);
                    ctx.notify(notify::GENERIC, "del", dest);
                }
            } else {
                let limit = ctx.state.config.hot.list_max_listpack_size;
                let mut list = ListValue::new();
                let bytes = output.iter().map(|v| v.as_ref().map_or(0, Vec::len)).sum();
                list.prepare_growth(bytes, output.len(), limit);
                for value in &output {
                    list.push(value.as_deref().unwrap_or_default(), End::Tail);
                }
                ctx.db().set(dest, Value::List(Box::new(list)));
                ctx.modified(dest);
                ctx.notify(notify::LIST, "sortstore", dest);
            }
            ctx.out.int(stored);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_strtod_over_the_whole_text() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-3"), Some(-3.0));
        assert_eq!(parse_score(b"1e3"), Some(1000.0));
        assert_eq!(parse_score(b"abc"), None);
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b"nan"), None);
    }

    #[test]
    fn store_is_a_key() {
        let owned = crate::protocol::OwnedArgs::from_args(Args::from_parts(
            b"SORTkeyBYw_*STOREdst",
            &[0..4, 4..7, 7..9, 9..12, 12..17, 17..20],
        ));
        assert_eq!(sort_keys(owned.args()), vec![1, 5]);
    }
}
