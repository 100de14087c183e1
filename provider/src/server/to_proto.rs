//! Framework values → protocol messages. The only place framework diagnostics, paths,
//! schemas and function signatures are turned into `tfplugin6` types.

use tfproto::tfplugin6 as pb;

use crate::framework::codec::{try_encode_msgpack, type_to_json};
use crate::framework::path::Step;
use crate::framework::resource::{FunctionParam, FunctionSignature};
use crate::framework::schema::{Attribute, AttributeType, Block, BlockNesting, NestedBlock, ObjectNesting};
use crate::framework::{AttributePath, Diagnostic, Diagnostics, Schema, Severity, Type, Value};

/// What this provider supports beyond the protocol's baseline.
pub fn server_capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        // Resources see destroy plans (the framework passes them through).
        plan_destroy: true,
        get_provider_schema_optional: false,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

/// Framework diagnostics as protocol diagnostics, in order.
pub fn diagnostics(diags: Diagnostics) -> Vec<pb::Diagnostic> {
    diags.iter().map(diagnostic).collect()
}

/// One diagnostic; a root path is sent as no path (the whole resource).
pub fn diagnostic(diag: &Diagnostic) -> pb::Diagnostic {
    let severity = match diag.severity {
        Severity::Error => pb::diagnostic::Severity::Error,
        Severity::Warning => pb::diagnostic::Severity::Warning,
    };
    pb::Diagnostic {
        severity: severity.into(),
        summary: diag.summary.clone(),
        detail: diag.detail.clone(),
        attribute: diag.path.as_ref().filter(|p| !p.is_root()).map(attribute_path),
    }
}

/// The protocol cannot name a set element, so a path into a set stops at the set itself,
/// which is where Terraform then points the user.
pub fn attribute_path(path: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    let steps = path
        .steps
        .iter()
        .map_while(|step| match step {
            Step::Attribute(name) => Some(Selector::AttributeName(name.clone())),
            Step::Key(key) => Some(Selector::ElementKeyString(key.clone())),
            Step::Index(index) => Some(Selector::ElementKeyInt(*index)),
            Step::SetElement(_) => None,
        })
        .map(|selector| pb::attribute_path::Step { selector: Some(selector) })
        .collect();
    pb::AttributePath { steps }
}

/// Encode a value for Terraform. A value that does not fit its schema type is a provider
/// bug; it becomes an error diagnostic rather than a corrupt state.
pub fn dynamic_value(value: &Value, ty: &Type) -> Result<pb::DynamicValue, Diagnostic> {
    match try_encode_msgpack(value, ty) {
        Ok(msgpack) => Ok(pb::DynamicValue { msgpack, json: Vec::new() }),
        Err(e) => Err(Diagnostic::error(
            "Provider produced an invalid value",
            format!(
                "The provider built a value that does not match its schema ({e}). Please report this bug to the provider developers."
            ),
        )),
    }
}

fn type_bytes(ty: &Type) -> Vec<u8> {
    serde_json::to_vec(&type_to_json(ty)).unwrap_or_default()
}

/// A schema with every description marked as Markdown.
pub fn schema(schema: &Schema) -> pb::Schema {
    pb::Schema { version: schema.version, block: Some(block(&schema.block)) }
}

fn block(block: &Block) -> pb::schema::Block {
    pb::schema::Block {
        version: 0,
        attributes: block.attributes.iter().map(attribute).collect(),
        block_types: block.blocks.iter().map(nested_block).collect(),
        description: block.description.clone(),
        description_kind: pb::StringKind::Markdown.into(),
        deprecated: block.deprecated,
        deprecation_message: String::new(),
    }
}

fn attribute(attribute: &Attribute) -> pb::schema::Attribute {
    let (ty, nested_type) = match &attribute.ty {
        AttributeType::Plain(ty) => (type_bytes(ty), None),
        AttributeType::Nested { nesting, attributes } => {
            let nesting = match nesting {
                ObjectNesting::Single => pb::schema::object::NestingMode::Single,
                ObjectNesting::List => pb::schema::object::NestingMode::List,
                ObjectNesting::Set => pb::schema::object::NestingMode::Set,
                ObjectNesting::Map => pb::schema::object::NestingMode::Map,
            };
            #[allow(deprecated)] // min/max_items are deprecated in the protocol; we leave them 0.
            let object = pb::schema::Object {
                attributes: attributes.iter().map(self::attribute).collect(),
                nesting: nesting.into(),
                min_items: 0,
                max_items: 0,
            };
            (Vec::new(), Some(object))
        }
    };
    pb::schema::Attribute {
        name: attribute.name.clone(),
        r#type: ty,
        nested_type,
        description: attribute.description.clone(),
        required: attribute.required,
        optional: attribute.optional,
        computed: attribute.computed,
        sensitive: attribute.sensitive,
        description_kind: pb::StringKind::Markdown.into(),
        deprecated: attribute.deprecated,
        write_only: attribute.write_only,
        deprecation_message: String::new(),
    }
}

fn nested_block(nested: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode;
    let nesting = match nested.nesting {
        BlockNesting::Single => NestingMode::Single,
        BlockNesting::List => NestingMode::List,
        BlockNesting::Set => NestingMode::Set,
        BlockNesting::Map => NestingMode::Map,
        BlockNesting::Group => NestingMode::Group,
    };
    pb::schema::NestedBlock {
        type_name: nested.name.clone(),
        block: Some(block(&nested.block)),
        nesting: nesting.into(),
        min_items: nested.min_items,
        max_items: nested.max_items,
    }
}

/// A provider function's signature; types are sent as cty type JSON.
pub fn function(signature: &FunctionSignature) -> pb::Function {
    pb::Function {
        parameters: signature.params.iter().map(parameter).collect(),
        variadic_parameter: signature.variadic.as_ref().map(parameter),
        r#return: Some(pb::function::Return { r#type: type_bytes(&signature.returns) }),
        summary: signature.summary.clone(),
        description: signature.description.clone(),
        description_kind: pb::StringKind::Markdown.into(),
        deprecation_message: String::new(),
    }
}

fn parameter(param: &FunctionParam) -> pb::function::Parameter {
    pb::function::Parameter {
        name: param.name.clone(),
        r#type: type_bytes(&param.ty),
        allow_null_value: param.allow_null,
        allow_unknown_values: param.allow_unknown,
        description: param.description.clone(),
        description_kind: pb::StringKind::Markdown.into(),
    }
}
