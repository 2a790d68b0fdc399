//! The Node.js clients apps use (ioredis, node-redis 4 and 5, the Socket.IO Redis adapter...),
//! running the scenarios in `client-tests/node/scenarios/` unmodified, against redis-server and
//! then against Understudy. The test command installs the modules (`npm ci`).

#[path = "support/scenarios.rs"]
mod scenarios;

use scenarios::Language;

scenarios!(
    Language::Node,
    ioredis_commands => "ioredis-commands",
    ioredis_pubsub => "ioredis-pubsub",
    keyspace_notifications => "keyspace-notifications",
    node_redis_commands => "node-redis-commands",
    connect_redis_sessions => "connect-redis-sessions",
    client_scripts_and_throttler => "scripts",
    rate_limiter_flexible => "rate-limiter-flexible",
    bull => "bull",
    bullmq => "bullmq",
    node_redis_pubsub => "node-redis-pubsub",
    socketio_redis_adapter => "socketio-redis-adapter",
    socketio_streams_adapter => "socketio-streams-adapter",
);
