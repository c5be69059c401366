//! Producing a commit: its record headers, enqueueing, and the broker's acknowledgement.

use super::support::unavailable;
use crate::eventlog::codec::{headers, CommitRecord};
use crate::eventlog::{EventLogError, NewCommit};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

pub(super) fn record_headers(commit: &NewCommit) -> OwnedHeaders {
    let command = commit.command_id.to_string();
    let correlation = commit.correlation_id.to_string();
    let mut h = OwnedHeaders::new()
        .insert(Header {
            key: headers::STREAM_TYPE,
            value: Some(commit.stream.stream_type.as_str()),
        })
        .insert(Header {
            key: headers::STREAM_ID,
            value: Some(commit.stream.stream_id.as_str()),
        })
        .insert(Header {
            key: headers::COMMAND_ID,
            value: Some(command.as_str()),
        })
        .insert(Header {
            key: headers::CORRELATION_ID,
            value: Some(correlation.as_str()),
        });
    if let Some(trace) = &commit.traceparent {
        h = h.insert(Header {
            key: headers::TRACEPARENT,
            value: Some(trace.as_str()),
        });
    }
    h
}

/// Enqueues one record for its partition without waiting. Callers enqueue under the partition
/// lock, so records reach the partition in the order their versions were assigned.
pub(super) fn enqueue(
    producer: &FutureProducer,
    topic: &str,
    partition: u32,
    record: &CommitRecord,
    headers: OwnedHeaders,
) -> Result<DeliveryFuture, EventLogError> {
    let payload = record.encode()?;
    let key = record.key();
    producer
        .send_result(
            FutureRecord::to(topic)
                .partition(partition as i32)
                .key(&key)
                .payload(&payload)
                .headers(headers),
        )
        .map_err(|(e, _)| {
            metrics::counter!("erp_eventlog_produce_errors_total").increment(1);
            unavailable(e)
        })
}

/// Waits for the broker's acknowledgement; returns the offset the record landed at.
pub(super) async fn delivered(delivery: DeliveryFuture) -> Result<u64, EventLogError> {
    let answer = match delivery.await {
        Ok(Ok(delivery)) => return Ok(delivery.offset as u64),
        Ok(Err((e, _))) => unavailable(e),
        Err(_) => EventLogError::Unavailable("producer dropped the record".into()),
    };
    metrics::counter!("erp_eventlog_produce_errors_total").increment(1);
    Err(answer)
}
