//! One component per route.

mod landing;
mod not_found;
mod pricing;
mod terms;

pub use landing::LandingPage;
pub use not_found::NotFoundPage;
pub use pricing::PricingPage;
pub use terms::TermsPage;
