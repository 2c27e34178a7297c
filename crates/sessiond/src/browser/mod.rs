//! Browser sign-in (OpenID Connect Core §3.1, the authorization code flow
//! with PKCE): validating an authorization request, the SSO cookie that
//! ties a browser to its session, CSRF tokens for the forms, and the rules
//! that decide between the login page, the consent page and a code. Knows
//! nothing of HTTP; `http::browser` renders and routes.
pub mod authorize;
pub mod csrf;
pub mod flow;
pub mod sso;

pub use authorize::{validate, AuthorizeError, AuthorizeParams, AuthorizeRequest, Prompt, Redirect};
pub use flow::{error_url, issue_code, next_step, refusal, with_query, Step, CODE_LIFETIME};
pub use sso::{live_session, new_cookie, BrowserSession};
