//! Server-sent events (`EventSource`): a page follows `/events` and is told
//! each `update`. The sources live here, per thread, so a component keeps
//! only a number (which it can hand to `on_cleanup`).

use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

thread_local! {
    static OPEN: RefCell<HashMap<u32, web_sys::EventSource>> = RefCell::new(HashMap::new());
    static NEXT: RefCell<u32> = const { RefCell::new(0) };
}

/// Opens `url` and calls `on_update` with each `update` event's data and
/// `on_state` with whether the stream is up. The browser reconnects by itself.
pub fn follow(
    url: &str,
    on_update: impl FnMut(String) + 'static,
    on_state: impl Fn(bool) + Clone + 'static,
) -> Option<u32> {
    let source = web_sys::EventSource::new(url).ok()?;
    let mut on_update = on_update;
    let update =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            on_update(e.data().as_string().unwrap_or_default());
        });
    source
        .add_event_listener_with_callback("update", update.as_ref().unchecked_ref())
        .ok()?;
    update.forget();
    let up = on_state.clone();
    let open = Closure::<dyn FnMut()>::new(move || up(true));
    source.set_onopen(Some(open.as_ref().unchecked_ref()));
    open.forget();
    let error = Closure::<dyn FnMut()>::new(move || on_state(false));
    source.set_onerror(Some(error.as_ref().unchecked_ref()));
    error.forget();
    let id = NEXT.with(|n| {
        let mut n = n.borrow_mut();
        *n += 1;
        *n
    });
    OPEN.with(|o| o.borrow_mut().insert(id, source));
    Some(id)
}

/// Closes what [`follow`] opened.
pub fn close(id: u32) {
    if let Some(source) = OPEN.with(|o| o.borrow_mut().remove(&id)) {
        source.close();
    }
}
