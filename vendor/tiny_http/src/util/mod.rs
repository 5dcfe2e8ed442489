pub(crate) use self::buffers::{ReadBuf, WriteBuf};
pub use self::custom_stream::CustomStream;
pub use self::equal_reader::EqualReader;
pub use self::fused_reader::FusedReader;
pub use self::messages_queue::MessagesQueue;
pub(crate) use self::pollers::{will_block, Pollers};
pub(crate) use self::registry::Registry;
pub(crate) use self::task_pool::TaskPool;

mod buffers;
mod custom_stream;
mod equal_reader;
mod fused_reader;
mod messages_queue;
mod pollers;
mod registry;
mod task_pool;
