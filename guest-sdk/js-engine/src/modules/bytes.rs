//! Bytes in and out of JavaScript for the native modules: what k6's functions accept as data
//! (a string as UTF-8, an `ArrayBuffer`, a typed array or `DataView`) and the `ArrayBuffer`s
//! they return.

use rquickjs::{ArrayBuffer, Ctx, Exception, FromJs, Object, Result, TypedArray, Value};

/// The bytes of `value`: a string (UTF-8), an `ArrayBuffer`, or a view on one. `what` names the
/// argument in the `TypeError` thrown for anything else.
pub fn of<'js>(ctx: &Ctx<'js>, value: &Value<'js>, what: &str) -> Result<Vec<u8>> {
    if let Some(s) = value.as_string() {
        return Ok(s.to_string()?.into_bytes());
    }
    if let Some(obj) = value.as_object() {
        if let Some(buf) = array_buffer(obj) {
            // SAFETY: copied at once; no JavaScript runs (and may detach the buffer) meanwhile.
            return Ok(unsafe { buf.as_bytes() }
                .map(<[u8]>::to_vec)
                .unwrap_or_default());
        }
        if let Ok(view) = TypedArray::<u8>::from_js(ctx, value.clone()) {
            // SAFETY: as above.
            return Ok(unsafe { view.as_bytes() }
                .map(<[u8]>::to_vec)
                .unwrap_or_default());
        }
        if let Some(bytes) = view_bytes(obj)? {
            return Ok(bytes);
        }
    }
    Err(Exception::throw_type(
        ctx,
        &format!(
            "{what}: expected a string, an ArrayBuffer or a typed array, got {}",
            type_name(value)
        ),
    ))
}

/// `obj` as an `ArrayBuffer`, if it is one. rquickjs's own `as_array_buffer` asks QuickJS for
/// the buffer's bytes, which on any other object throws a `TypeError` ("ArrayBuffer object
/// expected") and leaves it pending in the context, where the next call that looks for an
/// exception finds it — a `Uint8Array` request body then failed the next `res.json(selector)`.
/// The class is checked first; a detached buffer's error is taken back.
pub fn array_buffer<'js>(obj: &Object<'js>) -> Option<ArrayBuffer<'js>> {
    // SAFETY: `JS_IsArrayBuffer` reads the class of a live object and throws nothing.
    if !unsafe { rquickjs::qjs::JS_IsArrayBuffer(obj.as_raw()) } {
        return None;
    }
    let buffer = ArrayBuffer::from_object(obj.clone());
    if buffer.is_none() {
        let _ = obj.ctx().catch();
    }
    buffer
}

/// The bytes seen by any `ArrayBuffer` view (`Int16Array`, `DataView`, …).
pub fn view_bytes(obj: &Object<'_>) -> Result<Option<Vec<u8>>> {
    let Some(buffer) = obj
        .get::<_, Value>("buffer")?
        .into_object()
        .and_then(|b| array_buffer(&b))
    else {
        return Ok(None);
    };
    let offset = obj.get::<_, Option<f64>>("byteOffset")?.unwrap_or(0.0) as usize;
    let len = obj.get::<_, Option<f64>>("byteLength")?.unwrap_or(0.0) as usize;
    // SAFETY: as in `of`.
    Ok(unsafe { buffer.as_bytes() }
        .and_then(|b| b.get(offset..offset.checked_add(len)?))
        .map(<[u8]>::to_vec))
}

/// A new `ArrayBuffer` holding `bytes`.
pub fn buffer<'js>(ctx: &Ctx<'js>, bytes: Vec<u8>) -> Result<Value<'js>> {
    Ok(ArrayBuffer::new(ctx.clone(), bytes)?.into_value())
}

/// `typeof`-like name of a value, for error messages.
pub fn type_name(value: &Value<'_>) -> &'static str {
    if value.is_undefined() {
        "undefined"
    } else if value.is_null() {
        "null"
    } else if value.is_bool() {
        "a boolean"
    } else if value.is_number() {
        "a number"
    } else if value.is_function() {
        "a function"
    } else if value.is_array() {
        "an array"
    } else {
        "an object"
    }
}

/// An optional string argument (a variant, an encoding, a selector) where k6's scripts may
/// also pass `null` or `undefined` to mean "the default".
pub struct OptText(pub Option<String>);

impl<'js> FromJs<'js> for OptText {
    fn from_js(ctx: &Ctx<'js>, value: Value<'js>) -> Result<Self> {
        if value.is_undefined() || value.is_null() {
            return Ok(Self(None));
        }
        Ok(Self(Some(
            rquickjs::Coerced::<String>::from_js(ctx, value)?.0,
        )))
    }
}

/// The string an optional argument holds, if any.
pub fn text(arg: rquickjs::function::Opt<OptText>) -> Option<String> {
    arg.0.and_then(|t| t.0)
}
