//! Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB. The
//! subscriptions and delivery live in `crate::pubsub`.

use super::table::{command, container, CommandDef};
use super::{CmdResult, Ctx};
use crate::pubsub::{self, Kind};

pub const COMMANDS: &[CommandDef] = &[
    command(
        "subscribe",
        -2,
        "pubsub noscript loading stale",
        "",
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels.",
        subscribe,
    ),
    command(
        "unsubscribe",
        -1,
        "pubsub noscript loading stale",
        "",
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Stops listening to channels, or to all of them.",
        unsubscribe,
    ),
    command(
        "psubscribe",
        -2,
        "pubsub noscript loading stale",
        "",
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels matching glob patterns.",
        psubscribe,
    ),
    command(
        "punsubscribe",
        -1,
        "pubsub noscript loading stale",
        "",
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Stops listening to patterns, or to all of them.",
        punsubscribe,
    ),
    command(
        "ssubscribe",
        -2,
        "pubsub noscript loading stale",
        "",
        (1, -1, 1),
        "pubsub",
        "7.0.0",
        "Listens for messages published to shard channels.",
        ssubscribe,
    ),
    command(
        "sunsubscribe",
        -1,
        "pubsub noscript loading stale",
        "",
        (1, -1, 1),
        "pubsub",
        "7.0.0",
        "Stops listening to shard channels, or to all of them.",
        sunsubscribe,
    ),
    command(
        "publish",
        3,
        "pubsub loading stale fast",
        "",
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Posts a message to a channel.",
        publish,
    ),
    command(
        "spublish",
        3,
        "pubsub loading stale fast",
        "",
        (1, 1, 1),
        "pubsub",
        "7.0.0",
        "Posts a message to a shard channel.",
        spublish,
    ),
    container(
        "pubsub",
        "pubsub",
        "2.8.0",
        "Reports on channels and their subscribers.",
        PUBSUB,
    ),
];

const PUBSUB: &[CommandDef] = &[
    command(
        "channels",
        -2,
        "pubsub loading stale",
        "",
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "Lists the channels with subscribers, optionally those matching a pattern.",
        channels,
    ),
    command(
        "numsub",
        -2,
        "pubsub loading stale",
        "",
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "Counts the subscribers of channels.",
        numsub,
    ),
    command(
        "numpat",
        2,
        "pubsub loading stale",
        "",
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "Counts the patterns with subscribers.",
        numpat,
    ),
    command(
        "shardchannels",
        -2,
        "pubsub loading stale",
        "",
        (0, 0, 0),
        "pubsub",
        "7.0.0",
        "Lists the shard channels with subscribers, optionally those matching a pattern.",
        shardchannels,
    ),
    command(
        "shardnumsub",
        -2,
        "pubsub loading stale",
        "",
        (0, 0, 0),
        "pubsub",
        "7.0.0",
        "Counts the subscribers of shard channels.",
        shardnumsub,
    ),
    command(
        "help",
        2,
        "loading stale",
        "",
        (0, 0, 0),
        "pubsub",
        "6.2.0",
        "Lists the PUBSUB subcommands.",
        pubsub_help,
    ),
];

/// Inside MULTI (Redis's DENY_BLOCKING clients) only the plain subscriptions are allowed, for
/// compatibility; shard subscriptions are refused.
fn refuse_when_replies_are_expected(
    ctx: &mut Ctx,
    name: &str,
    allowed_in_multi: bool,
) -> CmdResult {
    if ctx.state.in_exec && !allowed_in_multi {
        return Err(format!("ERR {name} isn't allowed for a DENY BLOCKING client").into());
    }
    Ok(())
}

fn subscribe_each(ctx: &mut Ctx, kind: Kind) {
    for i in 1..ctx.argc() {
        let name = ctx.arg(i);
        let count = pubsub::subscribe(ctx.state, ctx.client_id, kind, name);
        confirm(ctx, kind.subscribe_word(), Some(name), count);
    }
}

/// Unsubscribes from the names given, or from everything of `kind` when none are; with nothing
/// to leave, one confirmation with a null name still answers.
fn unsubscribe_each(ctx: &mut Ctx, kind: Kind) {
    let names: Vec<Vec<u8>> = if ctx.argc() > 1 {
        (1..ctx.argc()).map(|i| ctx.arg(i).to_vec()).collect()
    } else {
        pubsub::subscribed(ctx.state, ctx.client_id, kind)
    };
    if names.is_empty() {
        let count = client_count(ctx, kind);
        confirm(ctx, kind.unsubscribe_word(), None, count);
    }
    for name in names {
        let count = pubsub::unsubscribe(ctx.state, ctx.client_id, kind, &name);
        confirm(ctx, kind.unsubscribe_word(), Some(&name), count);
    }
}

fn client_count(ctx: &mut Ctx, kind: Kind) -> usize {
    kind.count(&ctx.client().subscriptions)
}

/// A (un)subscribe confirmation: a push frame in RESP3, an array in RESP2.
fn confirm(ctx: &mut Ctx, word: &[u8], name: Option<&[u8]>, count: usize) {
    ctx.out.push(3);
    ctx.out.bulk(word);
    match name {
        Some(name) => ctx.out.bulk(name),
        None => ctx.out.null(),
    }
    ctx.out.int(count as i64);
}

fn subscribe(ctx: &mut Ctx) -> CmdResult {
    refuse_when_replies_are_expected(ctx, "SUBSCRIBE", true)?;
    subscribe_each(ctx, Kind::Channel);
    Ok(())
}

fn psubscribe(ctx: &mut Ctx) -> CmdResult {
    refuse_when_replies_are_expected(ctx, "PSUBSCRIBE", true)?;
    subscribe_each(ctx, Kind::Pattern);
    Ok(())
}

fn ssubscribe(ctx: &mut Ctx) -> CmdResult {
    refuse_when_replies_are_expected(ctx, "SSUBSCRIBE", false)?;
    subscribe_each(ctx, Kind::ShardChannel);
    Ok(())
}

fn unsubscribe(ctx: &mut Ctx) -> CmdResult {
    unsubscribe_each(ctx, Kind::Channel);
    Ok(())
}

fn punsubscribe(ctx: &mut Ctx) -> CmdResult {
    unsubscribe_each(ctx, Kind::Pattern);
    Ok(())
}

fn sunsubscribe(ctx: &mut Ctx) -> CmdResult {
    unsubscribe_each(ctx, Kind::ShardChannel);
    Ok(())
}

fn publish(ctx: &mut Ctx) -> CmdResult {
    let receivers = pubsub::publish(ctx.state, ctx.arg(1), ctx.arg(2), false, ctx.now_ms);
    ctx.out.int(receivers as i64);
    Ok(())
}

fn spublish(ctx: &mut Ctx) -> CmdResult {
    let receivers = pubsub::publish(ctx.state, ctx.arg(1), ctx.arg(2), true, ctx.now_ms);
    ctx.out.int(receivers as i64);
    Ok(())
}

/// PUBSUB CHANNELS and SHARDCHANNELS take at most one pattern.
fn list_channels(ctx: &mut Ctx, shard: bool) -> CmdResult {
    if ctx.argc() > 3 {
        return Err(super::command::subcommand_syntax_error(ctx, "PUBSUB"));
    }
    let pattern = (ctx.argc() == 3).then(|| ctx.arg(2));
    let channels = pubsub::active_channels(ctx.state, shard, pattern);
    ctx.out.array(channels.len());
    for channel in &channels {
        ctx.out.bulk(channel);
    }
    Ok(())
}

fn count_subscribers(ctx: &mut Ctx, shard: bool) {
    ctx.out.array((ctx.argc() - 2) * 2);
    for i in 2..ctx.argc() {
        let channel = ctx.arg(i);
        ctx.out.bulk(channel);
        ctx.out
            .int(pubsub::subscriber_count(ctx.state, shard, channel) as i64);
    }
}

fn channels(ctx: &mut Ctx) -> CmdResult {
    list_channels(ctx, false)
}

fn shardchannels(ctx: &mut Ctx) -> CmdResult {
    list_channels(ctx, true)
}

fn numsub(ctx: &mut Ctx) -> CmdResult {
    count_subscribers(ctx, false);
    Ok(())
}

fn shardnumsub(ctx: &mut Ctx) -> CmdResult {
    count_subscribers(ctx, true);
    Ok(())
}

fn numpat(ctx: &mut Ctx) -> CmdResult {
    ctx.out.int(pubsub::pattern_count(ctx.state) as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx) -> CmdResult {
    super::command::reply_help(
        ctx.out,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}
