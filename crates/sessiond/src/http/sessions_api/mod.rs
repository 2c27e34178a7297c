//! The session management REST API (JSON, Bearer-authenticated): users list
//! and end their own sessions (`me`), administrators anyone's (`admin`).
pub mod admin;
pub mod bodies;
pub mod me;
