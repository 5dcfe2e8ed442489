//! A listing as a response body, within a memory budget: a small listing is rendered whole,
//! a large one as the client reads it, row by row, from its entries (which take a third of
//! the memory of the page they make). Either way the memory is charged to a budget shared by
//! every listing in flight, until the response is done with, so that clients that request
//! listings and don't read them can't take the server's memory.

use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tiny_http::{Body, Response};

/// A page made of a head, rows and a tail.
pub trait Render: Send + 'static {
    /// How many rows.
    fn rows(&self) -> usize;
    /// Appends everything before the first row.
    fn head(&self, out: &mut String);
    /// Appends row `i`.
    fn row(&self, i: usize, out: &mut String);
    /// Appends everything after the last row.
    fn tail(&self, out: &mut String);
}

/// Listings of up to this many rows are rendered whole (about 100 bytes a row); larger ones
/// as the client reads.
const WHOLE_ROWS: usize = 2048;

/// The memory all listings in flight may hold.
#[derive(Clone)]
pub struct Budget {
    used: Arc<AtomicUsize>,
    limit: usize,
}

/// Memory charged to a [`Budget`], given back when dropped.
pub struct Charge {
    used: Arc<AtomicUsize>,
    bytes: usize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Budget {
        Budget {
            used: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// Charges `bytes`, unless that would exceed the budget.
    pub fn charge(&self, bytes: usize) -> Option<Charge> {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .ok()?;
        Some(Charge {
            used: Arc::clone(&self.used),
            bytes,
        })
    }

    /// Bytes charged now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.used.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// Sets `page` as the body of `response`, charging its memory to `budget`; `None` if the
/// budget can't take it now. `held` is the memory the page's data holds already. With `gzip`,
/// a page rendered whole is sent gzipped (a streamed one, over 2,048 rows, never is: its
/// compressed length isn't known before it is made).
pub fn respond_with<R: Render>(
    response: &mut Response,
    page: R,
    held: usize,
    budget: &Budget,
    gzip: bool,
) -> Option<()> {
    if page.rows() <= WHOLE_ROWS {
        let mut out = String::with_capacity(4096 + page.rows() * 96);
        page.head(&mut out);
        for i in 0..page.rows() {
            page.row(i, &mut out);
        }
        page.tail(&mut out);
        let gzipped = (gzip && out.len() as u64 >= crate::compress::MIN_SIZE)
            .then(|| crate::compress::gzip(out.as_bytes()))
            .flatten();
        let body = match gzipped {
            Some(gzipped) => {
                response.add_header("Content-Encoding", "gzip");
                gzipped
            }
            None => out.into_bytes(),
        };
        let charge = budget.charge(body.capacity())?;
        response.set_body(Body::Bytes(body));
        response.on_complete(move |_| drop(charge));
        return Some(());
    }
    let charge = budget.charge(held + CHUNK)?;
    let len = rendered_len(&page);
    let stream = Stream {
        page,
        next: 0,
        done: false,
        buf: String::with_capacity(CHUNK),
        pos: 0,
        _charge: charge,
    };
    response.set_body(Body::Stream {
        reader: Box::new(stream),
        len,
    });
    Some(())
}

/// About how much is rendered at a time.
const CHUNK: usize = 16 * 1024;

/// The page's length, rendered row by row without keeping it.
fn rendered_len(page: &impl Render) -> u64 {
    let mut scratch = String::with_capacity(1024);
    page.head(&mut scratch);
    let mut len = scratch.len() as u64;
    for i in 0..page.rows() {
        scratch.clear();
        page.row(i, &mut scratch);
        len += scratch.len() as u64;
    }
    scratch.clear();
    page.tail(&mut scratch);
    len + scratch.len() as u64
}

/// A page rendered as it is read.
struct Stream<R> {
    page: R,
    /// The next part to render: 0 the head, 1 + i row i, then the tail.
    next: usize,
    done: bool,
    buf: String,
    /// Bytes of `buf` already read.
    pos: usize,
    _charge: Charge,
}

impl<R: Render> Stream<R> {
    /// Renders the next parts into the buffer, about a chunk's worth.
    fn refill(&mut self) {
        self.buf.clear();
        self.pos = 0;
        while !self.done && self.buf.len() < CHUNK {
            let rows = self.page.rows();
            match self.next {
                0 => self.page.head(&mut self.buf),
                n if n <= rows => self.page.row(n - 1, &mut self.buf),
                _ => {
                    self.page.tail(&mut self.buf);
                    self.done = true;
                }
            }
            self.next += 1;
        }
    }
}

impl<R: Render> Read for Stream<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.refill();
        }
        let rest = &self.buf.as_bytes()[self.pos..];
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Numbers(usize);

    impl Render for Numbers {
        fn rows(&self) -> usize {
            self.0
        }
        fn head(&self, out: &mut String) {
            out.push('[');
        }
        fn row(&self, i: usize, out: &mut String) {
            out.push_str(&format!("{i},"));
        }
        fn tail(&self, out: &mut String) {
            out.push(']');
        }
    }

    fn whole(page: &Numbers) -> String {
        let mut out = String::new();
        page.head(&mut out);
        (0..page.rows()).for_each(|i| page.row(i, &mut out));
        page.tail(&mut out);
        out
    }

    #[test]
    fn a_streamed_page_is_the_whole_page_with_the_announced_length() {
        let budget = Budget::new(1 << 20);
        let page = Numbers(10_000);
        let expected = whole(&page);
        let mut response = Response::new(200, Body::Empty);
        respond_with(&mut response, page, 100, &budget, true).unwrap();
        assert_eq!(response.body().len(), expected.len() as u64);
        assert_eq!(budget.used(), 100 + CHUNK);
        let Body::Stream { mut reader, .. } = response.take_body() else {
            panic!("not streamed");
        };
        let mut got = String::new();
        reader.read_to_string(&mut got).unwrap();
        assert_eq!(got, expected);
        drop(reader);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn the_budget_refuses_what_it_cannot_hold() {
        let budget = Budget::new(1000);
        let first = budget.charge(600).unwrap();
        assert!(budget.charge(600).is_none());
        drop(first);
        assert!(budget.charge(600).is_some());
    }
}
