//! W3C trace context (`traceparent: 00-<trace id>-<span id>-<flags>`), carried from the HTTP
//! command through the commit (its envelope and, on Kafka, a record header), the projector's
//! apply and the change bus to the subscription push, so one trace id names everything one
//! command caused. A request without a valid `traceparent` gets a fresh one; a malformed one is
//! replaced, as the W3C rules say, never refused.

/// One position in a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl TraceContext {
    /// A `traceparent` header value, if it is one (version 00; all-zero ids are invalid).
    pub fn parse(header: &str) -> Option<Self> {
        let parts: Vec<&str> = header.trim().split('-').collect();
        let [version, trace, span, flags] = parts.as_slice() else {
            return None;
        };
        if *version != "00" || trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
            return None;
        }
        let lower_hex = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !lower_hex(trace) || !lower_hex(span) || !lower_hex(flags) {
            return None;
        }
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        hex::decode_to_slice(trace, &mut trace_id).ok()?;
        hex::decode_to_slice(span, &mut span_id).ok()?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    /// A new trace, from 24 random bytes the caller supplies (so this module needs no source
    /// of randomness; see [`TraceContext::fresh`]).
    pub fn from_random(bytes: [u8; 24]) -> Self {
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        trace_id.copy_from_slice(&bytes[..16]);
        span_id.copy_from_slice(&bytes[16..]);
        trace_id[0] |= 1; // never all zero
        span_id[0] |= 1;
        Self {
            trace_id,
            span_id,
            sampled: true,
        }
    }

    /// A new trace with random ids.
    pub fn fresh() -> Self {
        let mut bytes = [0u8; 24];
        bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes[16..].copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
        Self::from_random(bytes)
    }

    /// `header` if it is a valid `traceparent`, else a fresh trace.
    pub fn continue_or_start(header: Option<&str>) -> Self {
        header.and_then(Self::parse).unwrap_or_else(Self::fresh)
    }

    pub fn trace_id_hex(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The header value.
    pub fn header(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.span_id),
            u8::from(self.sampled)
        )
    }
}

/// The trace id of a stored `traceparent`, if it has a valid one.
pub fn trace_id_of(traceparent: Option<&str>) -> Option<String> {
    traceparent.and_then(TraceContext::parse).map(|t| t.trace_id_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let t = TraceContext::parse(EXAMPLE).expect("valid");
        assert_eq!(t.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(t.sampled);
        assert_eq!(t.header(), EXAMPLE);
    }

    #[test]
    fn malformed_or_zero_traceparents_are_not_continued() {
        for bad in [
            "",
            "junk",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad:?}");
            let started = TraceContext::continue_or_start(Some(bad));
            assert_eq!(
                TraceContext::parse(&started.header()),
                Some(started),
                "a fresh one is valid"
            );
        }
    }

    #[test]
    fn a_valid_traceparent_is_continued() {
        let t = TraceContext::continue_or_start(Some(EXAMPLE));
        assert_eq!(t.header(), EXAMPLE);
        assert_eq!(
            trace_id_of(Some(EXAMPLE)).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }
}
