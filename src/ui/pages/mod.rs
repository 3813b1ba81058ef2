//! One component per route.

mod account;
mod auth;
mod landing;
mod not_found;
mod pricing;
mod terms;

pub use account::AccountPage;
pub use auth::{LogInPage, SignUpPage};
pub use landing::LandingPage;
pub use not_found::NotFoundPage;
pub use pricing::PricingPage;
pub use terms::TermsPage;
