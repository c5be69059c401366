//! One subscription's messages on a connection: `next` per item, `complete` at the end, or
//! one `error` when it cannot start (unknown field, not visible, bad argument).
//!
//! A subscription starts with one execution that captures its resolver's item stream, and
//! each item is then executed on its own against the subscriber's document
//! (`schema::delivery` says why: between pushes it holds its items' stream and a request
//! template, not an execution). The first execution is validated in full; an item's runs the
//! same document with the same variables again, so it is checked only for what the schema's
//! limits count.

use crate::schema::delivery::{Capture, Delivery, Item};
use crate::schema::{PushClock, Query, Routes, Sources, Subscription};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{EmptyMutation, Request, Response, Schema, ServerError, ValidationMode, Variables};
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

pub type NotifierSchema = Schema<Query, EmptyMutation, Subscription>;

/// The subscription schema over `sources`, routing through `hub`.
pub(crate) fn schema(sources: Sources, hub: Routes) -> NotifierSchema {
    built(sources, hub, ValidationMode::Strict)
}

fn built(sources: Sources, hub: Routes, validation: ValidationMode) -> NotifierSchema {
    Schema::build(Query, EmptyMutation, Subscription)
        .data(sources)
        .data(hub)
        .limit_depth(8)
        .limit_complexity(200)
        .validation_mode(validation)
        .finish()
}

/// Starts subscriptions: the schema they start on, the one their items run on, and the
/// parses they share.
pub(crate) struct Subscriptions {
    schema: NotifierSchema,
    items: NotifierSchema,
    documents: Documents,
}

impl Subscriptions {
    pub(crate) fn new(sources: Sources, hub: Routes) -> Self {
        Self {
            schema: schema(sources.clone(), hub.clone()),
            items: built(sources, hub, ValidationMode::Fast),
            documents: Documents::default(),
        }
    }

    /// The messages of subscription `id` running `request` (which carries the subscriber's
    /// principal).
    pub(crate) fn start(&self, id: String, mut request: Request) -> BoxStream<'static, Outgoing> {
        let prepared = self.documents.prepare(&mut request);
        let field = prepared.as_ref().map_or("other", |p| p.field);
        let template = prepared.map(|prepared| Template {
            variables: declared(&prepared.document, &request.variables),
            prepared,
            operation_name: request.operation_name.clone(),
        });
        let running = Held::new(metrics::gauge!("erp_notifier_subscriptions", "field" => field));
        let (clock, capture) = (PushClock::default(), Capture::default());
        let started = self
            .schema
            .execute_stream(request.data(clock.clone()).data(capture.clone()));
        let items = self.items.clone();
        let setup = async move {
            let responses: Vec<Response> = started.collect().await;
            let mut streams = capture.taken();
            if let Some(refused) = responses
                .first()
                .filter(|r| r.data == async_graphql::Value::Null && !r.errors.is_empty())
            {
                return error(&id, &refused.errors);
            }
            if streams.len() > 1 {
                let why = ServerError::new("a subscription selects exactly one top-level field", None);
                return error(&id, &[why]);
            }
            let answered: Vec<Outgoing> = responses.iter().map(|response| next(&id, response, None)).collect();
            let live = match (streams.pop(), template) {
                (Some(items_of), Some(template)) => {
                    let (id, template) = (id.clone(), Arc::new(template));
                    items_of
                        .then(move |item| {
                            let (items, template, clock, id) =
                                (items.clone(), template.clone(), clock.clone(), id.clone());
                            // Boxed: an item's execution lives only while it runs, not inline
                            // in every idle subscription's stream.
                            Box::pin(async move {
                                // Taken whether or not the item resolves, so that no later item
                                // carries this one's arrival.
                                let since = clock.take();
                                let response = template.run(&items, item).await?;
                                Some(next(&id, &response, since))
                            })
                        })
                        .filter_map(futures::future::ready)
                        .boxed()
                }
                _ => stream::empty().boxed(),
            };
            // The gauge counts the subscription until its last message.
            let complete = async move {
                drop(running);
                Outgoing::now(json!({ "id": id, "type": "complete" }))
            };
            stream::iter(answered).chain(live).chain(stream::once(complete)).boxed()
        };
        stream::once(setup).flatten().boxed()
    }
}

fn next(id: &str, response: &Response, since: Option<std::time::Instant>) -> Outgoing {
    let payload = serde_json::to_value(response).unwrap_or_default();
    Outgoing {
        message: json!({ "id": id, "type": "next", "payload": payload }),
        since,
    }
}

fn error(id: &str, errors: &[ServerError]) -> BoxStream<'static, Outgoing> {
    let errors = serde_json::to_value(errors).unwrap_or_default();
    let message = Outgoing::now(json!({ "id": id, "type": "error", "payload": errors }));
    stream::once(async { message }).boxed()
}

/// What an item's execution needs of the subscriber's request: it runs again for every item,
/// so it keeps nothing the document does not use.
struct Template {
    prepared: Arc<Prepared>,
    variables: Variables,
    operation_name: Option<String>,
}

impl Template {
    /// The subscriber's selection resolved on `item`.
    async fn run(&self, schema: &NotifierSchema, item: Item) -> Option<Response> {
        // The text is not read again once the parse is set.
        let mut request = Request::new(String::new()).variables(self.variables.clone());
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name.clone());
        }
        request.set_parsed_query(self.prepared.document.clone());
        schema.execute_stream(request.data(Delivery::new(item))).next().await
    }
}

/// A message for the socket, and when the change it carries arrived on the bus.
pub(crate) struct Outgoing {
    pub(crate) message: Value,
    pub(crate) since: Option<std::time::Instant>,
}

impl Outgoing {
    /// A protocol message that carries no change.
    fn now(message: Value) -> Self {
        Self { message, since: None }
    }
}

/// One unit of a gauge for as long as it is held (a connection, a subscription).
pub(crate) struct Held(metrics::Gauge);

impl Held {
    pub(crate) fn new(gauge: metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// A subscription document as parsed once for everyone who sends its text.
struct Prepared {
    document: ExecutableDocument,
    field: &'static str,
}

/// Parsed subscription documents by their text, at most [`Documents::MAX`]. Clients send the
/// same few queries, so a subscription shares a parse instead of keeping one of its own for
/// as long as it runs. The schema's limits still judge every document as it executes.
#[derive(Default)]
struct Documents(Mutex<HashMap<String, Arc<Prepared>>>);

impl Documents {
    /// More distinct queries than any client sends; past it the cache starts over.
    const MAX: usize = 64;

    /// Gives `request` its parsed document and returns it, when it parses.
    fn prepare(&self, request: &mut Request) -> Option<Arc<Prepared>> {
        let cache = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let cached = cache().get(&request.query).cloned();
        let prepared = match cached {
            Some(prepared) => prepared,
            None => {
                let document = async_graphql::parser::parse_query(&request.query).ok()?;
                let prepared = Arc::new(Prepared {
                    field: field_of(&document),
                    document,
                });
                let mut cache = cache();
                if cache.len() >= Self::MAX {
                    cache.clear();
                }
                cache.insert(request.query.clone(), prepared.clone());
                prepared
            }
        };
        request.set_parsed_query(prepared.document.clone());
        Some(prepared)
    }
}

/// The variables among `given` that `document`'s operations declare (others are never read).
fn declared(document: &ExecutableDocument, given: &Variables) -> Variables {
    use async_graphql::parser::types::DocumentOperations;
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values().collect(),
    };
    let mut kept = Variables::default();
    for definition in operations.iter().flat_map(|o| &o.node.variable_definitions) {
        let name = &definition.node.name.node;
        if let Some(value) = given.get(name) {
            kept.insert(name.clone(), value.clone());
        }
    }
    kept
}

/// The subscription field a document asks for, as a metric label: one of the schema's, else
/// `other` (a document that names no known field).
fn field_of(document: &ExecutableDocument) -> &'static str {
    use async_graphql::parser::types::{DocumentOperations, Selection};
    const FIELDS: [&str; 4] = ["myNotifications", "inboxChanged", "approvalUpdated", "hrChanged"];
    let first = match &document.operations {
        DocumentOperations::Single(operation) => Some(operation),
        DocumentOperations::Multiple(operations) => operations.values().next(),
    };
    let field = first.and_then(|operation| {
        operation
            .node
            .selection_set
            .node
            .items
            .iter()
            .find_map(|item| match &item.node {
                Selection::Field(field) => Some(field.node.name.node.to_string()),
                _ => None,
            })
    });
    field
        .and_then(|name| FIELDS.into_iter().find(|known| *known == name))
        .unwrap_or("other")
}
