//! Registry-style documentation rendered from the schemas and `examples/`.
//!
//! Layout follows the Terraform Registry convention (`docs/index.md`,
//! `docs/resources/<name>.md`, `docs/data-sources/<name>.md`, `docs/functions/<name>.md`)
//! so the same tree can be published. The `gen-docs` binary writes it; a test fails when
//! `docs/` is stale.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::framework::resource::{FunctionSignature, Provider};
use crate::framework::schema::{Attribute, AttributeType, Block, BlockNesting, ObjectNesting};
use crate::framework::{Number, Schema, Type, Value};

/// Rendered docs: relative path → file content.
pub type DocTree = BTreeMap<String, String>;

/// Render every page for `provider`, reading examples from `examples_dir`.
pub fn render<P: Provider>(provider: &P, examples_dir: &Path) -> DocTree {
    let mut out = DocTree::new();
    let name = provider.type_name();
    out.insert("index.md".into(), index_page(provider, examples_dir));
    for r in provider.resources() {
        let t = r.type_name();
        let ex = examples_dir.join("resources").join(t);
        out.insert(format!("resources/{}.md", short(name, t)), type_page(t, "Resource", &r.schema(), &ex));
    }
    for d in provider.data_sources() {
        let t = d.type_name();
        let ex = examples_dir.join("data-sources").join(t);
        out.insert(
            format!("data-sources/{}.md", short(name, t)),
            type_page(t, "Data Source", &d.schema(), &ex),
        );
    }
    for f in provider.functions() {
        let ex = examples_dir.join("functions").join(f.name());
        out.insert(format!("functions/{}.md", f.name()), function_page(name, f.name(), &f.signature(), &ex));
    }
    out
}

fn short<'a>(provider: &str, type_name: &'a str) -> &'a str {
    type_name.strip_prefix(provider).and_then(|s| s.strip_prefix('_')).unwrap_or(type_name)
}

fn read_example(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok().map(|s| s.trim_end().to_owned())
}

fn front_matter(title: &str, description: &str) -> String {
    let first = description.lines().next().unwrap_or_default();
    format!("---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-\n  {first}\n---\n\n")
}

fn index_page<P: Provider>(provider: &P, examples_dir: &Path) -> String {
    let schema = provider.schema();
    let name = provider.type_name();
    let mut s = front_matter(&format!("{name} Provider"), &schema.block.description);
    let _ = writeln!(s, "# {name} Provider\n\n{}\n", schema.block.description);
    let guide = examples_dir.join("provider");
    if let Some(ex) = read_example(&guide, "provider.tf") {
        let _ = writeln!(s, "## Example Usage\n\n```terraform\n{ex}\n```\n");
    }
    s.push_str("## Schema\n\n");
    render_attributes(&mut s, &schema.block, "");
    s
}

fn type_page(type_name: &str, kind: &str, schema: &Schema, examples: &Path) -> String {
    let mut s = front_matter(
        &format!("{type_name} {kind} - terraform-provider-autopilot"),
        &schema.block.description,
    );
    let _ = writeln!(s, "# {type_name} ({kind})\n\n{}\n", schema.block.description.trim_end());
    let example_file = if kind == "Resource" { "resource.tf" } else { "data-source.tf" };
    if let Some(ex) = read_example(examples, example_file) {
        let _ = writeln!(s, "## Example Usage\n\n```terraform\n{ex}\n```\n");
    }
    s.push_str("## Schema\n\n");
    render_attributes(&mut s, &schema.block, "");
    if let Some(ex) = read_example(examples, "import.sh") {
        let _ = writeln!(
            s,
            "## Import\n\nImport is supported using the following syntax:\n\n```shell\n{ex}\n```"
        );
    }
    s
}

fn function_page(provider: &str, name: &str, sig: &FunctionSignature, examples: &Path) -> String {
    let mut s = front_matter(&format!("{name} function - terraform-provider-autopilot"), &sig.summary);
    let _ = writeln!(s, "# function: {name}\n\n{}\n\n{}\n", sig.summary, sig.description.trim_end());
    if let Some(ex) = read_example(examples, "function.tf") {
        let _ = writeln!(s, "## Example Usage\n\n```terraform\n{ex}\n```\n");
    }
    let params: Vec<String> =
        sig.params.iter().map(|p| format!("{} {}", p.name, type_label(&p.ty))).collect();
    let _ = writeln!(
        s,
        "## Signature\n\n```text\nprovider::{provider}::{name}({}) {}\n```\n",
        params.join(", "),
        type_label(&sig.returns)
    );
    s.push_str("## Arguments\n\n");
    for (i, p) in sig.params.iter().enumerate() {
        let _ = writeln!(s, "{}. `{}` ({}) {}", i + 1, p.name, type_label(&p.ty), p.description);
    }
    s
}

/// Split attributes into Required / Optional / Read-Only sections, recursing into nested ones.
fn render_attributes(s: &mut String, block: &Block, anchor_prefix: &str) {
    let mut nested: Vec<(String, &[Attribute])> = Vec::new();
    for (title, pick) in [
        ("Required", (|a: &Attribute| a.required) as fn(&Attribute) -> bool),
        ("Optional", |a: &Attribute| a.optional),
        ("Read-Only", |a: &Attribute| a.computed && !a.optional && !a.required),
    ] {
        let attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| pick(a)).collect();
        let blocks: Vec<_> = if title == "Optional" { block.blocks.iter().collect() } else { Vec::new() };
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        let _ = writeln!(s, "### {title}\n");
        for a in attrs {
            let mut line = format!("- `{}` ({})", a.name, attribute_type_label(&a.ty));
            if a.sensitive {
                line.push_str(", Sensitive");
            }
            if a.write_only {
                line.push_str(", Write-only");
            }
            if a.deprecated {
                line.push_str(", Deprecated");
            }
            let desc = a.description.trim();
            if !desc.is_empty() {
                line.push(' ');
                line.push_str(desc);
            }
            if let Some(d) = &a.default {
                let _ = write!(line, " Defaults to `{}`.", value_literal(d));
            }
            for v in &a.validators {
                let _ = write!(line, " {}.", sentence(&v.description()));
            }
            for m in &a.plan_modifiers {
                let d = m.description();
                if !d.is_empty() && d.contains("replace") {
                    let _ = write!(line, " {}", d.trim_end());
                }
            }
            if let AttributeType::Nested { attributes, .. } = &a.ty {
                let anchor = format!("{anchor_prefix}nestedatt--{}", a.name);
                let _ = write!(line, " (see [below for nested schema](#{anchor}))");
                nested.push((anchor, attributes));
            }
            let _ = writeln!(s, "{line}");
        }
        for b in blocks {
            let anchor = format!("{anchor_prefix}nestedblock--{}", b.name);
            let _ = writeln!(
                s,
                "- `{}` (Block {}) {} (see [below for nested schema](#{anchor}))",
                b.name,
                block_nesting_label(b.nesting),
                b.block.description.trim()
            );
        }
        s.push('\n');
    }
    for (anchor, attributes) in nested {
        let _ = writeln!(s, "<a id=\"{anchor}\"></a>\n### Nested Schema for `{}`\n", anchor_name(&anchor));
        let inner = Block { attributes: attributes.to_vec(), ..Block::default() };
        render_attributes(s, &inner, &format!("{anchor}--"));
    }
    for b in &block.blocks {
        let anchor = format!("{anchor_prefix}nestedblock--{}", b.name);
        let _ = writeln!(s, "<a id=\"{anchor}\"></a>\n### Nested Schema for `{}`\n", b.name);
        render_attributes(s, &b.block, &format!("{anchor}--"));
    }
}

fn anchor_name(anchor: &str) -> String {
    anchor.split("--").skip(1).filter(|p| !p.starts_with("nested")).collect::<Vec<_>>().join(".")
}

fn block_nesting_label(n: BlockNesting) -> &'static str {
    match n {
        BlockNesting::Single | BlockNesting::Group => "",
        BlockNesting::List => "List",
        BlockNesting::Set => "Set",
        BlockNesting::Map => "Map",
    }
}

fn attribute_type_label(t: &AttributeType) -> String {
    match t {
        AttributeType::Plain(t) => type_label(t),
        AttributeType::Nested { nesting, .. } => match nesting {
            ObjectNesting::Single => "Attributes".into(),
            ObjectNesting::List => "Attributes List".into(),
            ObjectNesting::Set => "Attributes Set".into(),
            ObjectNesting::Map => "Attributes Map".into(),
        },
    }
}

/// Human label of a type, as the registry shows it ("Set of String").
pub fn type_label(t: &Type) -> String {
    match t {
        Type::Bool => "Boolean".into(),
        Type::Number => "Number".into(),
        Type::String => "String".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_label(e)),
        Type::Set(e) => format!("Set of {}", type_label(e)),
        Type::Map(e) => format!("Map of {}", type_label(e)),
        Type::Tuple(_) => "Tuple".into(),
        Type::Object { .. } => "Object".into(),
    }
}

/// A validator description as a sentence: first letter capitalised, one final period.
fn sentence(description: &str) -> String {
    let d = description.trim().trim_end_matches('.');
    let mut chars = d.chars();
    match chars.next() {
        Some(first) => format!("{}{}", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// A default value as it would be written in HCL.
fn value_literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Number(Number::Int(i)) => i.to_string(),
        Value::Number(Number::UInt(u)) => u.to_string(),
        Value::Number(Number::Float(f)) => f.to_string(),
        Value::Number(Number::Big(b)) => b.clone(),
        Value::Null => "null".into(),
        Value::List(e) | Value::Set(e) | Value::Tuple(e) => {
            format!("[{}]", e.iter().map(value_literal).collect::<Vec<_>>().join(", "))
        }
        Value::Map(m) | Value::Object(m) => format!(
            "{{ {} }}",
            m.iter().map(|(k, v)| format!("{k} = {}", value_literal(v))).collect::<Vec<_>>().join(", ")
        ),
        Value::Unknown(_) => "(known after apply)".into(),
        Value::Dynamic(_, v) => value_literal(v),
    }
}
