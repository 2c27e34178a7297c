//! Client authentication (RFC 6749 §2.3): `client_secret_basic`,
//! `client_secret_post`, and public clients that present only their id.
//!
//! Clients are cached in memory so that authentication (on every token,
//! revocation and introspection request) does not read the store. A removed
//! client leaves the cache when its revocation reaches this process's index.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::app::App;
use crate::domain::{Client, ClientId, ClientKind};
use crate::secrets::{matches_hash, Secret};

/// The credentials a request carried, whichever way it carried them.
#[derive(Debug, Clone)]
pub enum PresentedClient {
    /// An id and a secret (Basic header or body).
    Secret {
        /// `client_id`.
        id: ClientId,
        /// `client_secret`.
        secret: Secret,
    },
    /// Only an id: a public client.
    IdOnly {
        /// `client_id`.
        id: ClientId,
    },
}

/// Why client authentication failed. All answer `invalid_client`; the
/// variants are for the audit trail.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// No such client.
    #[error("unknown client")]
    Unknown,
    /// The secret is wrong.
    #[error("wrong client secret")]
    WrongSecret,
    /// A confidential client presented no secret.
    #[error("client secret required")]
    SecretRequired,
    /// A public client presented a secret it cannot have.
    #[error("public clients have no secret")]
    UnexpectedSecret,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Registered clients, loaded on first use.
#[derive(Default)]
pub struct ClientCache {
    clients: RwLock<HashMap<ClientId, Arc<Client>>>,
}

impl ClientCache {
    /// The client with this id, from memory or else the store. Unknown ids
    /// are not remembered, so a client registered meanwhile is found.
    pub async fn get(&self, app: &App, id: &ClientId) -> Result<Option<Arc<Client>>, crate::store::StoreError> {
        if let Some(c) = self.clients.read().unwrap_or_else(|e| e.into_inner()).get(id) {
            return Ok(Some(Arc::clone(c)));
        }
        let Some(client) = app.store.client(id).await? else { return Ok(None) };
        let client = Arc::new(client);
        self.clients.write().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), Arc::clone(&client));
        Ok(Some(client))
    }

    /// Drops a client (it was removed or changed).
    pub fn forget(&self, id: &ClientId) {
        self.clients.write().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

/// Looks the client up and checks its secret in constant time.
pub async fn authenticate_client(app: &App, presented: &PresentedClient) -> Result<Arc<Client>, ClientAuthError> {
    let id = match presented {
        PresentedClient::Secret { id, .. } | PresentedClient::IdOnly { id } => id,
    };
    let client = app.clients.get(app, id).await?.ok_or(ClientAuthError::Unknown)?;
    match (client.kind, presented, client.secret_hash.as_ref()) {
        (ClientKind::Confidential, PresentedClient::Secret { secret, .. }, Some(hash)) => {
            if matches_hash(secret.expose(), hash) {
                Ok(client)
            } else {
                Err(ClientAuthError::WrongSecret)
            }
        }
        (ClientKind::Confidential, _, _) => Err(ClientAuthError::SecretRequired),
        (ClientKind::Public, PresentedClient::IdOnly { .. }, _) => Ok(client),
        (ClientKind::Public, PresentedClient::Secret { .. }, _) => Err(ClientAuthError::UnexpectedSecret),
    }
}
