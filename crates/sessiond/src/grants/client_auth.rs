//! Client authentication (RFC 6749 §2.3): `client_secret_basic`,
//! `client_secret_post`, and public clients that present only their id.
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

/// Looks the client up and checks its secret in constant time.
pub async fn authenticate_client(app: &App, presented: &PresentedClient) -> Result<Client, ClientAuthError> {
    let id = match presented {
        PresentedClient::Secret { id, .. } | PresentedClient::IdOnly { id } => id,
    };
    let client = app.store.client(id).await?.ok_or(ClientAuthError::Unknown)?;
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
