use crate::helpers::spawn_app;
use dripfeed::api::catalog::{GetPricing, Pricing};
use dripfeed::domain::tier::TierId;
use leptos::server_fn::ServerFn;

#[tokio::test]
async fn the_pricing_page_lists_every_tier_with_its_price() {
    let app = spawn_app().await;

    let body = app.get("/pricing").await.text().await.expect("body");

    for (name, price) in [
        ("Free", "Free"),
        ("Basic", "$9/mo"),
        ("Pro", "$19/mo"),
        ("Premium", "$29/mo"),
    ] {
        assert!(body.contains(name), "missing tier {name}");
        assert!(body.contains(price), "missing price {price}");
    }
    assert!(body.contains("Paper trading only"));
    assert!(body.contains("without billing"));
}

#[tokio::test]
async fn the_pricing_server_function_returns_the_configured_table() {
    let app = spawn_app().await;

    let response = app.call_server_fn(GetPricing::PATH, &[]).await;

    assert_eq!(response.status(), 200);
    let pricing: Pricing = response.json().await.expect("JSON");
    let ids: Vec<TierId> = pricing.tiers.iter().map(|t| t.id).collect();
    assert_eq!(ids, TierId::ALL);
    assert!(!pricing.billing_enabled);
    assert_eq!(pricing.default_tier, TierId::Premium);
}
