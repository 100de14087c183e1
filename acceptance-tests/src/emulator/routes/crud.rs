//! Generic handlers for plain entity collections (list / read / create / update / delete),
//! for families whose objects need no special behaviour beyond strict body validation.
//! Describe the collection once in a `static` [`Collection`], then route to these functions:
//!
//! ```ignore
//! static SCRIPTS: Collection = Collection { store: "deviceManagementScripts", ... };
//! r.beta_only("/deviceManagement/deviceManagementScripts",
//!     get(|req: GraphRequest| async move { crud::list(&req, &SCRIPTS) })
//!         .post(|req: GraphRequest, body: Bytes| async move { crud::create(&req, &SCRIPTS, &body, json!({})) }))
//! ```

use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Map, Value};

use super::{GraphRequest, created, new_id, no_content, ok, timestamp};
use crate::emulator::errors::{GraphError, GraphResult};
use crate::emulator::odata::check_filter;
use crate::emulator::store::Record;
use crate::emulator::validate::{EntitySpec, Mode, guid};

/// What a successful update answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateReply {
    /// 204 (directory style).
    NoContent,
    /// 200 with the updated object (what the Intune docs show).
    Entity,
}

/// Description of one collection.
#[derive(Debug)]
pub struct Collection {
    /// Store collection name (also the `/_emulator/objects` key).
    pub store: &'static str,
    /// Entity name used in not-found messages, e.g. `DeviceManagementScript`.
    pub kind: &'static str,
    /// `@odata.context` fragment of the entity set, e.g. `deviceManagement/deviceManagementScripts`.
    pub context: &'static str,
    /// Body validation (also the `$select`-able names, plus `selectable`).
    pub entity: EntitySpec,
    /// Extra `$select`-able names (read-only properties not in `entity`).
    pub selectable: &'static [&'static str],
    pub read_roles: &'static [&'static str],
    pub write_roles: &'static [&'static str],
    /// Properties accepted in `$filter`.
    pub filterable: &'static [&'static str],
    /// Largest accepted `$top`.
    pub max_top: usize,
    pub update_reply: UpdateReply,
    /// Whether to maintain `createdDateTime` / `lastModifiedDateTime`.
    pub timestamps: bool,
}

impl Collection {
    fn check_select(&self, req: &GraphRequest) -> GraphResult<()> {
        let mut names = self.entity.names();
        names.extend(self.selectable);
        req.query.check_select(self.entity.type_name, &names)
    }
}

/// `GET` of the collection (filter, paging, `$select`).
pub fn list(req: &GraphRequest, c: &Collection) -> GraphResult<Response> {
    req.require(c.read_roles)?;
    c.check_select(req)?;
    req.query.reject_expand()?;
    req.query.reject_orderby()?;
    check_filter(&req.query, c.kind, c.filterable)?;
    req.collection(req.list(c.store), c.context, c.max_top)
}

/// `GET` of one object.
pub fn read(req: &GraphRequest, c: &Collection, id: &str) -> GraphResult<Response> {
    req.require(c.read_roles)?;
    c.check_select(req)?;
    req.query.reject_expand()?;
    let record = req.find(c.store, c.kind, &guid(id)?)?;
    Ok(ok(req.entity(&record.data, &format!("{}/$entity", c.context))))
}

/// Validates and stores a new object: `defaults` (an object) supplies service-set properties,
/// the body overrides them; `id` and timestamps are set by the emulator. Returns 201.
pub fn create(req: &GraphRequest, c: &Collection, body: &Bytes, defaults: Value) -> GraphResult<Response> {
    create_record(req, c, body, defaults).map(|(_, response)| response)
}

/// [`create`], also returning the stored record (for families that keep relationships).
pub fn create_record(
    req: &GraphRequest,
    c: &Collection,
    body: &Bytes,
    defaults: Value,
) -> GraphResult<(Record, Response)> {
    req.require(c.write_roles)?;
    let body = req.json_body(body)?;
    c.entity.check(&body, Mode::Create)?;
    reject_binds(&body)?;
    let mut data: Map<String, Value> = match defaults {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    merge(&mut data, &body);
    data.insert("id".into(), Value::String(new_id()));
    if c.timestamps {
        let now = Value::String(timestamp());
        data.insert("createdDateTime".into(), now.clone());
        data.insert("lastModifiedDateTime".into(), now);
    }
    let record = Record::new(data);
    let response = created(req.entity(&record.data, &format!("{}/$entity", c.context)));
    req.state.store().insert(c.store, record.clone());
    Ok((record, response))
}

/// `PATCH`: validates, merges into the latest version, answers per [`Collection::update_reply`].
pub fn update(req: &GraphRequest, c: &Collection, id: &str, body: &Bytes) -> GraphResult<Response> {
    req.require(c.write_roles)?;
    let id = guid(id)?;
    let body = req.json_body(body)?;
    c.entity.check(&body, Mode::Update)?;
    reject_binds(&body)?;
    req.find(c.store, c.kind, &id)?;
    let mut store = req.state.store();
    let mut record = store.get_latest(c.store, &id).ok_or_else(|| req.not_found(c.kind, &id))?;
    merge(&mut record.data, &body);
    if c.timestamps {
        record.data.insert("lastModifiedDateTime".into(), Value::String(timestamp()));
    }
    store.replace(c.store, record.clone());
    drop(store);
    Ok(match c.update_reply {
        UpdateReply::NoContent => no_content(),
        UpdateReply::Entity => ok(req.entity(&record.data, &format!("{}/$entity", c.context))),
    })
}

/// `DELETE`: 204, or a family-style 404.
pub fn delete(req: &GraphRequest, c: &Collection, id: &str) -> GraphResult<Response> {
    req.require(c.write_roles)?;
    let id = guid(id)?;
    req.find(c.store, c.kind, &id)?;
    if !req.state.store().remove(c.store, &id) {
        return Err(req.not_found(c.kind, &id));
    }
    Ok(no_content())
}

/// Copies the body's properties (not annotations other than `@odata.type`) into `target`.
pub fn merge(target: &mut Map<String, Value>, body: &Map<String, Value>) {
    for (k, v) in body {
        if k == "@odata.type" {
            let t = v.as_str().unwrap_or_default().trim_start_matches('#');
            target.insert(k.clone(), Value::String(format!("#{t}")));
        } else if !k.contains('@') {
            target.insert(k.clone(), v.clone());
        }
    }
}

fn reject_binds(body: &Map<String, Value>) -> GraphResult<()> {
    match body.keys().find(|k| k.contains("@odata.") && *k != "@odata.type") {
        Some(k) => Err(GraphError::odata_bad_request(format!(
            "The annotation '{k}' is not supported on this entity."
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::extract::Path;
    use axum::http::{Method, Request, StatusCode, header};
    use axum::routing::get;
    use serde_json::json;
    use tower::ServiceExt;

    use super::*;
    use crate::emulator::auth::perm;
    use crate::emulator::routes::GraphRoutes;
    use crate::emulator::state::{AppState, EmulatorConfig};
    use crate::emulator::validate::{Kind, ro, rw};

    static THINGS: Collection = Collection {
        store: "things",
        kind: "Thing",
        context: "deviceManagement/things",
        entity: EntitySpec {
            type_name: "thing",
            props: &[rw("displayName", Kind::RequiredString(100)), ro("id", Kind::Any)],
            required_on_create: &["displayName"],
        },
        selectable: &["createdDateTime"],
        read_roles: perm::INTUNE_CONFIGURATION_READ,
        write_roles: perm::INTUNE_CONFIGURATION_WRITE,
        filterable: &["displayName"],
        max_top: 1000,
        update_reply: UpdateReply::Entity,
        timestamps: true,
    };

    fn routes(r: GraphRoutes) -> GraphRoutes {
        r
            .beta_only(
                "/deviceManagement/things",
                get(|req: GraphRequest| async move { list(&req, &THINGS) }).post(
                    |req: GraphRequest, body: Bytes| async move {
                        create(&req, &THINGS, &body, json!({"kind": 1}))
                    },
                ),
            )
            .beta_only(
                "/deviceManagement/things/{id}",
                get(|req: GraphRequest, Path(id): Path<String>| async move { read(&req, &THINGS, &id) })
                    .patch(|req: GraphRequest, Path(id): Path<String>, body: Bytes| async move {
                        update(&req, &THINGS, &id, &body)
                    })
                    .delete(
                        |req: GraphRequest, Path(id): Path<String>| async move { delete(&req, &THINGS, &id) },
                    ),
            )
    }

    async fn send(
        app: &Router,
        method: Method,
        uri: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let request = match body {
            Some(b) => {
                builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string()))
            }
            None => builder.body(Body::empty()),
        }
        .unwrap_or_default();
        let response = app.clone().oneshot(request).await.unwrap_or_else(|e| match e {});
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap_or_default();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn generic_collection_round_trip() {
        let state = AppState::new(EmulatorConfig { roles: Some(vec![]), ..EmulatorConfig::default() })
            .unwrap_or_else(|e| panic!("{e}"));
        let app = crate::emulator::routes::graph_router_with(state.clone(), routes);
        let grant = crate::emulator::auth::Grant {
            caller: crate::emulator::auth::Caller {
                client_id: "c".into(),
                roles: ["DeviceManagementConfiguration.ReadWrite.All".to_owned()].into_iter().collect(),
            },
            expires: state.clock().now() + std::time::Duration::from_secs(60),
        };
        state.store_grant("t".into(), grant);

        let (status, body) =
            send(&app, Method::POST, "/beta/deviceManagement/things", "t", Some(json!({"displayName": "a"})))
                .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["kind"], 1);
        let id = body["id"].as_str().unwrap_or_default().to_owned();
        let (status, _) =
            send(&app, Method::POST, "/beta/deviceManagement/things", "t", Some(json!({"nope": 1}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, body) = send(
            &app,
            Method::PATCH,
            &format!("/beta/deviceManagement/things/{id}"),
            "t",
            Some(json!({"displayName": "b"})),
        )
        .await;
        assert_eq!((status, body["displayName"].clone()), (StatusCode::OK, json!("b")));
        let (_, body) = send(
            &app,
            Method::GET,
            "/beta/deviceManagement/things?$filter=displayName%20eq%20'b'&$select=displayName",
            "t",
            None,
        )
        .await;
        assert_eq!(body["value"], json!([{"displayName": "b"}]));
        let (status, _) = send(&app, Method::GET, "/v1.0/deviceManagement/things", "t", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "beta only");
        let (status, _) =
            send(&app, Method::DELETE, &format!("/beta/deviceManagement/things/{id}"), "t", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) =
            send(&app, Method::GET, &format!("/beta/deviceManagement/things/{id}"), "t", None).await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (StatusCode::NOT_FOUND, json!("ResourceNotFound"))
        );

        state.store_grant(
            "reader".into(),
            crate::emulator::auth::Grant {
                caller: crate::emulator::auth::Caller {
                    client_id: "c".into(),
                    roles: ["DeviceManagementConfiguration.Read.All".to_owned()].into_iter().collect(),
                },
                expires: state.clock().now() + std::time::Duration::from_secs(60),
            },
        );
        let (status, body) = send(
            &app,
            Method::POST,
            "/beta/deviceManagement/things",
            "reader",
            Some(json!({"displayName": "a"})),
        )
        .await;
        assert_eq!((status, body["error"]["code"].clone()), (StatusCode::FORBIDDEN, json!("Forbidden")));

        // Intune write limit: the second write inside 20 s is throttled; reads are not.
        let settings =
            crate::emulator::faults::FaultSettings { intune_write_limit: Some(1), ..Default::default() };
        state.set_faults(settings);
        let post = |name: &str| Some(json!({ "displayName": name }));
        let first = send(&app, Method::POST, "/beta/deviceManagement/things", "t", post("x")).await;
        assert_eq!(first.0, StatusCode::CREATED);
        let second = send(&app, Method::POST, "/beta/deviceManagement/things", "t", post("y")).await;
        assert_eq!(
            (second.0, second.1["error"]["code"].clone()),
            (StatusCode::TOO_MANY_REQUESTS, json!("TooManyRequests"))
        );
        assert_eq!(
            send(&app, Method::GET, "/beta/deviceManagement/things", "t", None).await.0,
            StatusCode::OK
        );
    }
}
