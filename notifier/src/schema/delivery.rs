//! How a subscription runs without async-graphql's execution state held between pushes.
//!
//! async-graphql runs a subscription as one long execution: its stream keeps the query
//! environment (the operation's tree, variables, request data, a context) and the resolver's
//! mapped stream alive for as long as the subscription lasts, about 5 KiB each — most of what
//! an idle connection cost. Here a subscription executes twice over:
//!
//! - **Once to start** ([`Capture`] in the request data): the resolver checks the viewer and
//!   its arguments, reads what it must and subscribes its routes exactly as before, then hands
//!   its stream of items to the capture and gives async-graphql an empty one, so that
//!   execution ends. A refusal (not visible, bad argument, a store failure) is its error, as
//!   before.
//! - **Once per item** ([`Delivery`] in the request data): the resolver returns that one item,
//!   and async-graphql resolves the subscriber's selection on it, with the document's parse
//!   shared between subscriptions (the caller caches parses by text).
//!
//! Between items a subscription holds only its item stream and its request template. The
//! items are plain data (`SimpleObject`s), so resolving one later gives what resolving it in
//! the long execution gave.

use super::types::{ApprovalUpdate, HrChange, InboxChange, NotificationEvent};
use async_graphql::Context;
use futures::stream::{self, BoxStream, StreamExt};
use std::sync::{Arc, Mutex, PoisonError};

/// An item of any subscription field.
pub(crate) enum Item {
    Notification(NotificationEvent),
    Hr(HrChange),
    Inbox(InboxChange),
    Approval(ApprovalUpdate),
}

/// A subscription field's item type, in and out of [`Item`].
pub(crate) trait Delivered: Sized + Send + 'static {
    fn wrap(self) -> Item;
    fn unwrap(item: Item) -> Option<Self>;
}

macro_rules! delivered {
    ($($variant:ident($ty:ty)),* $(,)?) => {$(
        impl Delivered for $ty {
            fn wrap(self) -> Item {
                Item::$variant(self)
            }
            fn unwrap(item: Item) -> Option<Self> {
                match item {
                    Item::$variant(it) => Some(it),
                    _ => None,
                }
            }
        }
    )*};
}

delivered!(
    Notification(NotificationEvent),
    Hr(HrChange),
    Inbox(InboxChange),
    Approval(ApprovalUpdate),
);

/// Request data of a subscription's first execution: where its resolvers leave their item
/// streams.
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Vec<BoxStream<'static, Item>>>>);

impl Capture {
    /// The streams captured, one per top-level field the document selected.
    pub(crate) fn taken(&self) -> Vec<BoxStream<'static, Item>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Request data of one item's execution: the item the resolver returns.
pub(crate) struct Delivery(Mutex<Option<Item>>);

impl Delivery {
    pub(crate) fn new(item: Item) -> Self {
        Self(Mutex::new(Some(item)))
    }
}

/// The one item this execution delivers, when it is one of `T`: a resolver returns it before
/// doing anything else.
pub(super) fn delivered<T: Delivered>(ctx: &Context<'_>) -> Option<BoxStream<'static, T>> {
    let delivery = ctx.data_opt::<Delivery>()?;
    let item = delivery.0.lock().unwrap_or_else(PoisonError::into_inner).take();
    Some(stream::iter(item.and_then(T::unwrap)).boxed())
}

/// A resolver's live stream: handed to the [`Capture`] when the execution has one (and an
/// empty stream to async-graphql), else returned as it is.
pub(super) fn captured<T: Delivered>(ctx: &Context<'_>, items: BoxStream<'static, T>) -> BoxStream<'static, T> {
    match ctx.data_opt::<Capture>() {
        Some(capture) => {
            let mut streams = capture.0.lock().unwrap_or_else(PoisonError::into_inner);
            streams.push(items.map(T::wrap).boxed());
            stream::empty().boxed()
        }
        None => items,
    }
}
