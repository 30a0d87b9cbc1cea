//! A `subscriptions/listen` stream (2026-07-28), as the application holds it.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::Stream;
use mcpwire_core::modern::SubscriptionFilter;
use mcpwire_core::schema::ServerNotification;
use mcpwire_core::RequestError;

use crate::driver::Command;
use crate::notifications::Held;

/// What a subscription delivers.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SubscriptionEvent {
    /// A notification of the subscription.
    Notification(ServerNotification),
    /// The subscription's stream broke and was opened again; the server acknowledged it
    /// anew, with these notifications. Notifications of the gap may be lost: re-read what
    /// matters (the tool list, the resource).
    Resubscribed(SubscriptionFilter),
    /// The subscription ended: the server ended it (`Ok`), or its stream could not be opened
    /// again, or the session ended (`Err`). Nothing follows.
    Ended(Result<(), RequestError>),
}

/// An open subscription, from [`Client::listen`](crate::Client::listen): the server's
/// notifications for the filter it acknowledged. It is a [`Stream`] of
/// [`SubscriptionEvent`]s; it holds at most
/// [`ClientBuilder::notification_bytes`](crate::ClientBuilder::notification_bytes) of them
/// (what does not fit is dropped and counted in
/// [`Memory::notifications_dropped`](crate::Memory)). Dropping it ends the subscription (over
/// HTTP its stream is closed; over stdio the server is sent `notifications/cancelled`).
#[derive(Debug)]
pub struct Subscription {
    pub(crate) acknowledged: SubscriptionFilter,
    pub(crate) asked: SubscriptionFilter,
    pub(crate) rx: Pin<Box<async_channel::Receiver<(SubscriptionEvent, usize)>>>,
    pub(crate) held: Arc<Held>,
    pub(crate) ticket: u64,
    pub(crate) commands: async_channel::Sender<Command>,
}

impl Subscription {
    /// The notifications the server agreed to send (it may be fewer than asked).
    pub fn acknowledged(&self) -> &SubscriptionFilter {
        &self.acknowledged
    }

    /// What was asked and not granted: empty when the server agreed to everything.
    pub fn not_granted(&self) -> SubscriptionFilter {
        self.asked.not_granted(&self.acknowledged)
    }

    /// The next event; `None` after [`SubscriptionEvent::Ended`].
    pub async fn next_event(&self) -> Option<SubscriptionEvent> {
        let (event, size) = self.rx.recv().await.ok()?;
        self.held.bytes.fetch_sub(size, Ordering::AcqRel);
        Some(event)
    }

    /// The next notification, skipping [`SubscriptionEvent::Resubscribed`]; `None` once the
    /// subscription has ended.
    pub async fn recv(&self) -> Option<ServerNotification> {
        loop {
            match self.next_event().await? {
                SubscriptionEvent::Notification(n) => return Some(n),
                SubscriptionEvent::Resubscribed(_) => continue,
                SubscriptionEvent::Ended(_) => return None,
            }
        }
    }
}

impl Stream for Subscription {
    type Item = SubscriptionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.as_mut().poll_next(cx) {
            Poll::Ready(Some((event, size))) => {
                self.held.bytes.fetch_sub(size, Ordering::AcqRel);
                Poll::Ready(Some(event))
            }
            other => other.map(|_| None),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        drop(self.commands.try_send(Command::Cancel(self.ticket)));
    }
}
