//! postcard, bounded by the datagram.
//!
//! Writing stops with [`WireError::TooLarge`] as soon as the datagram would pass its limit: an
//! oversized payload never takes more memory than the limit and is never truncated.
//!
//! Reading: postcard takes every string and byte array from the slice, so those are bounded by
//! the datagram. The claimed length of a sequence, however, postcard passes on to serde as a size
//! hint (whenever that many bytes remain), and serde reserves up to 1 MiB from it whatever an
//! element's size in memory: a datagram of 65 000 bytes could make a `Vec` of 50-byte elements
//! reserve 1 MiB before failing. [`Unhinted`] tells postcard that nothing remains, so postcard
//! hints nothing and a `Vec` (or `Arc<[_]>`) grows only with the elements actually read, each of
//! which consumed input. Maps still receive their claimed length as a hint: payload types use
//! `BTreeMap`, which reserves nothing, rather than `HashMap`.

use super::WireError;
use postcard::de_flavors::{Flavor as ReadFlavor, Slice};
use postcard::ser_flavors::Flavor as WriteFlavor;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Appends the postcard encoding of `value` to `out`, which may grow to `limit` bytes.
pub(super) fn write<T: Serialize + ?Sized>(
    value: &T,
    out: Vec<u8>,
    limit: usize,
) -> Result<Vec<u8>, WireError> {
    postcard::serialize_with_flavor(value, Bounded { out, limit }).map_err(|e| match e {
        postcard::Error::SerializeBufferFull => WireError::TooLarge,
        other => WireError::Malformed(other.to_string()),
    })
}

/// Reads a `T` that fills `payload` exactly.
pub(super) fn read<T: DeserializeOwned>(payload: &[u8]) -> Result<T, WireError> {
    let malformed = |e: postcard::Error| WireError::Malformed(e.to_string());
    let mut deserializer = postcard::Deserializer::from_flavor(Unhinted(Slice::new(payload)));
    let value = T::deserialize(&mut deserializer).map_err(malformed)?;
    let rest = deserializer.finalize().map_err(malformed)?;
    if !rest.is_empty() {
        return Err(WireError::Malformed(format!(
            "{} bytes after the payload",
            rest.len()
        )));
    }
    Ok(value)
}

/// The length of the postcard encoding of `value`, without writing it.
pub fn encoded_len<T: Serialize + ?Sized>(value: &T) -> usize {
    postcard::serialize_with_flavor(value, Counter(0)).unwrap_or(usize::MAX)
}

/// Counts the bytes written, and keeps none.
struct Counter(usize);

impl WriteFlavor for Counter {
    type Output = usize;

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0 = self.0.saturating_add(data.len());
        Ok(())
    }

    fn try_push(&mut self, _byte: u8) -> postcard::Result<()> {
        self.0 = self.0.saturating_add(1);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<usize> {
        Ok(self.0)
    }
}

/// A growing buffer that refuses to pass `limit` bytes.
struct Bounded {
    out: Vec<u8>,
    limit: usize,
}

impl WriteFlavor for Bounded {
    type Output = Vec<u8>;

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        if data.len() > self.limit.saturating_sub(self.out.len()) {
            return Err(postcard::Error::SerializeBufferFull);
        }
        self.out.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        if self.out.len() >= self.limit {
            return Err(postcard::Error::SerializeBufferFull);
        }
        self.out.push(byte);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.out)
    }
}

/// postcard's slice reader with no size hint to reserve memory from.
struct Unhinted<'de>(Slice<'de>);

impl<'de> ReadFlavor<'de> for Unhinted<'de> {
    type Remainder = &'de [u8];
    type Source = &'de [u8];

    fn pop(&mut self) -> postcard::Result<u8> {
        self.0.pop()
    }

    /// Zero, so that postcard's sequence hint (the claimed length, when no more than this) is
    /// withheld for every non-empty sequence; postcard uses the hint for nothing else.
    fn size_hint(&self) -> Option<usize> {
        Some(0)
    }

    fn try_take_n(&mut self, count: usize) -> postcard::Result<&'de [u8]> {
        self.0.try_take_n(count)
    }

    fn finalize(self) -> postcard::Result<&'de [u8]> {
        self.0.finalize()
    }
}
