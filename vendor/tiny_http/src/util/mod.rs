//! The machinery under a connection: buffers, the epoll set and its threads, the registry of
//! open connections, and the thread pool.

pub(crate) use self::buffers::{extend_short, ReadBuf, WriteBuf, STREAM_CHUNK, WRITE_BUF};
pub(crate) use self::pollers::{will_block, Pollers};
pub(crate) use self::registry::{ip_key, Registry, Scope};
pub(crate) use self::task_pool::TaskPool;

mod buffers;
mod pollers;
mod registry;
mod task_pool;
