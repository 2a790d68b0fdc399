//! The Node.js clients apps use (ioredis, node-redis 4 and 5, the Socket.IO Redis adapter...),
//! running the scenarios in `client-tests/node/scenarios/` unmodified, against redis-server and
//! then against Understudy. The test command installs the modules (`npm ci`).

#[path = "support/scenarios.rs"]
mod scenarios;

use scenarios::Language;

scenarios!(
    Language::Node,
    ioredis_pubsub => "ioredis-pubsub",
    node_redis_pubsub => "node-redis-pubsub",
    socketio_redis_adapter => "socketio-redis-adapter",
);
