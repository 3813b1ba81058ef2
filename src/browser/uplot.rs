//! uPlot (npm `uplot`, served as `/pkg/uplot.<hash>.js`, the global `uPlot`):
//! loaded on first use, then given the chart's options and data as JSON.
//! Axis and grid colours come from the container's computed text colour, so a
//! chart reads in light and dark mode alike.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = uPlot)]
    pub type UPlot;

    #[wasm_bindgen(constructor, js_class = "uPlot", catch)]
    fn new(opts: &JsValue, data: &JsValue, target: &web_sys::Element) -> Result<UPlot, JsValue>;

    #[wasm_bindgen(method)]
    pub fn destroy(this: &UPlot);
}

const SCRIPT_ID: &str = "uplot-script";

fn loaded() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("uPlot")).unwrap_or(false)
}

/// Runs `then` once uPlot is available, adding its script (from `src`) the
/// first time.
pub fn with_uplot(src: &str, then: impl FnOnce() + 'static) {
    if loaded() {
        then();
        return;
    }
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let on_load = Closure::once_into_js(then);
    if let Some(existing) = document.get_element_by_id(SCRIPT_ID) {
        let _ = existing.add_event_listener_with_callback("load", on_load.unchecked_ref());
        return;
    }
    let Ok(script) = document.create_element("script") else {
        return;
    };
    let script: web_sys::HtmlScriptElement = script.unchecked_into();
    script.set_id(SCRIPT_ID);
    script.set_src(src);
    let _ = script.add_event_listener_with_callback("load", on_load.unchecked_ref());
    if let Some(head) = document.head() {
        let _ = head.append_child(&script);
    }
}

/// Draws a chart into `target`: `options` is uPlot's options object as JSON
/// (without size or axis colours, which are taken from `target`), `data`
/// its data (`[xs, ys…]`) as JSON. The chart it returns is destroyed by the caller
/// when the data changes.
pub fn draw(target: &web_sys::Element, options: &str, data: &str) -> Option<UPlot> {
    let options = js_sys::JSON::parse(options).ok()?;
    let data = js_sys::JSON::parse(data).ok()?;
    let width = target.client_width().max(320);
    let set = |o: &JsValue, k: &str, v: &JsValue| {
        let _ = js_sys::Reflect::set(o, &JsValue::from_str(k), v);
    };
    set(&options, "width", &JsValue::from(width));
    let colour = web_sys::window()
        .and_then(|w| w.get_computed_style(target).ok().flatten())
        .and_then(|s| s.get_property_value("color").ok())
        .unwrap_or_else(|| "#444".into());
    if let Ok(axes) = js_sys::Reflect::get(&options, &JsValue::from_str("axes"))
        && let Ok(axes) = axes.dyn_into::<js_sys::Array>()
    {
        for axis in axes.iter() {
            set(&axis, "stroke", &JsValue::from_str(&colour));
            let grid = js_sys::Object::new();
            set(
                &grid,
                "stroke",
                &JsValue::from_str("rgba(127,127,127,0.25)"),
            );
            set(&axis, "grid", &grid);
            set(&axis, "ticks", &grid);
        }
    }
    UPlot::new(&options, &data, target).ok()
}
