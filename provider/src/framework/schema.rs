//! Schemas: what Terraform validates configuration against, and what docs are generated from.
//!
//! Attributes carry their own validators and plan modifiers, so a resource declares its
//! rules once and the framework applies them in `ValidateResourceConfig` and
//! `PlanResourceChange`.

use std::sync::Arc;

use super::path::{AttributePath, Step};
use super::plan_modifier::PlanModifier;
use super::validator::Validator;
use super::value::{Type, Value};

/// The schema of a provider, resource or data source.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// Bumped when the state layout changes; see `Resource::upgrade_state`.
    pub version: i64,
    pub block: Block,
}

/// A block: attributes plus nested blocks (we use nested *attributes* in new resources;
/// blocks exist for `timeouts`).
#[derive(Clone, Debug, Default)]
pub struct Block {
    /// Markdown.
    pub description: String,
    pub deprecated: bool,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockNesting {
    Single,
    List,
    Set,
    Map,
    Group,
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: BlockNesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectNesting {
    Single,
    List,
    Set,
    Map,
}

/// The type of an attribute: a plain cty type, or nested attributes (each with its own
/// flags, validators and descriptions).
#[derive(Clone, Debug)]
pub enum AttributeType {
    Plain(Type),
    Nested { nesting: ObjectNesting, attributes: Vec<Attribute> },
}

/// One attribute. Build with [`Attribute::string`] etc. and the chained setters.
#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub ty: AttributeType,
    /// Markdown; shown in `terraform providers schema` and in the generated docs.
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub write_only: bool,
    pub deprecated: bool,
    /// Value planned when the attribute is optional+computed and not configured.
    pub default: Option<Value>,
    pub validators: Vec<Arc<dyn Validator>>,
    pub plan_modifiers: Vec<Arc<dyn PlanModifier>>,
}

impl Attribute {
    pub fn new(name: impl Into<String>, ty: AttributeType) -> Self {
        Self {
            name: name.into(),
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: false,
            default: None,
            validators: Vec::new(),
            plan_modifiers: Vec::new(),
        }
    }

    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::Plain(Type::String))
    }

    pub fn bool(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::Plain(Type::Bool))
    }

    pub fn number(name: impl Into<String>) -> Self {
        Self::new(name, AttributeType::Plain(Type::Number))
    }

    pub fn set_of(name: impl Into<String>, element: Type) -> Self {
        Self::new(name, AttributeType::Plain(Type::Set(Box::new(element))))
    }

    pub fn list_of(name: impl Into<String>, element: Type) -> Self {
        Self::new(name, AttributeType::Plain(Type::List(Box::new(element))))
    }

    pub fn map_of(name: impl Into<String>, element: Type) -> Self {
        Self::new(name, AttributeType::Plain(Type::Map(Box::new(element))))
    }

    pub fn nested(name: impl Into<String>, nesting: ObjectNesting, attributes: Vec<Attribute>) -> Self {
        Self::new(name, AttributeType::Nested { nesting, attributes })
    }

    #[must_use]
    pub fn description(mut self, markdown: impl Into<String>) -> Self {
        self.description = markdown.into();
        self
    }

    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    #[must_use]
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    #[must_use]
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }

    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    #[must_use]
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }

    #[must_use]
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// Optional + computed with a default planned when unset.
    #[must_use]
    pub fn default_value(mut self, v: impl Into<Value>) -> Self {
        self.optional = true;
        self.computed = true;
        self.default = Some(v.into());
        self
    }

    #[must_use]
    pub fn validator(mut self, v: impl Validator + 'static) -> Self {
        self.validators.push(Arc::new(v));
        self
    }

    #[must_use]
    pub fn plan_modifier(mut self, m: impl PlanModifier + 'static) -> Self {
        self.plan_modifiers.push(Arc::new(m));
        self
    }
}

impl Attribute {
    /// An attribute holding one object of nested attributes.
    pub fn single_nested(name: impl Into<String>, attributes: Vec<Attribute>) -> Self {
        Self::nested(name, ObjectNesting::Single, attributes)
    }

    /// An attribute holding a list of objects of nested attributes.
    pub fn list_nested(name: impl Into<String>, attributes: Vec<Attribute>) -> Self {
        Self::nested(name, ObjectNesting::List, attributes)
    }

    /// An attribute holding a set of objects of nested attributes.
    pub fn set_nested(name: impl Into<String>, attributes: Vec<Attribute>) -> Self {
        Self::nested(name, ObjectNesting::Set, attributes)
    }

    /// An attribute holding a map of objects of nested attributes.
    pub fn map_nested(name: impl Into<String>, attributes: Vec<Attribute>) -> Self {
        Self::nested(name, ObjectNesting::Map, attributes)
    }

    /// The cty type of this attribute's value, as it travels in config, plan and state.
    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttributeType::Plain(t) => t.clone(),
            AttributeType::Nested { nesting, attributes } => {
                let object = attributes_type(attributes, &[]);
                match nesting {
                    ObjectNesting::Single => object,
                    ObjectNesting::List => Type::List(Box::new(object)),
                    ObjectNesting::Set => Type::Set(Box::new(object)),
                    ObjectNesting::Map => Type::Map(Box::new(object)),
                }
            }
        }
    }

    /// The nesting and nested attributes, for nested attributes.
    pub fn nested_attributes(&self) -> Option<(ObjectNesting, &[Attribute])> {
        match &self.ty {
            AttributeType::Nested { nesting, attributes } => Some((*nesting, attributes)),
            AttributeType::Plain(_) => None,
        }
    }
}

/// The object type of a list of attributes plus nested blocks.
fn attributes_type(attributes: &[Attribute], blocks: &[NestedBlock]) -> Type {
    let mut map: std::collections::BTreeMap<String, Type> =
        attributes.iter().map(|a| (a.name.clone(), a.value_type())).collect();
    for b in blocks {
        map.insert(b.name.clone(), b.value_type());
    }
    Type::Object { attributes: map, optional: Vec::new() }
}

impl NestedBlock {
    /// The cty type of this block's value (an object, or a collection of objects).
    pub fn value_type(&self) -> Type {
        let object = self.block.value_type();
        match self.nesting {
            BlockNesting::Single | BlockNesting::Group => object,
            BlockNesting::List => Type::List(Box::new(object)),
            BlockNesting::Set => Type::Set(Box::new(object)),
            BlockNesting::Map => Type::Map(Box::new(object)),
        }
    }
}

impl Block {
    /// The object type of values of this block.
    pub fn value_type(&self) -> Type {
        attributes_type(&self.attributes, &self.blocks)
    }

    /// The attribute called `name` directly in this block.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The nested block called `name` directly in this block.
    pub fn nested_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// The attribute a path points at, through nested attributes and blocks (index, key
    /// and set-element steps select an element of a nested collection). `None` for paths
    /// into a block itself, inside a plain attribute's value, or naming nothing.
    pub fn attribute_at(&self, path: &AttributePath) -> Option<&Attribute> {
        let mut steps = path.steps.iter().peekable();
        let mut attrs: &[Attribute] = &self.attributes;
        let mut blocks: &[NestedBlock] = &self.blocks;
        loop {
            let Some(Step::Attribute(name)) = steps.next() else {
                return None;
            };
            if let Some(a) = attrs.iter().find(|a| &a.name == name) {
                let Some(next) = steps.peek() else {
                    return Some(a);
                };
                let (nesting, nested) = a.nested_attributes()?;
                // Collections of nested objects take one element step first.
                if nesting != ObjectNesting::Single {
                    if matches!(next, Step::Attribute(_)) {
                        return None;
                    }
                    steps.next();
                }
                attrs = nested;
                blocks = &[];
            } else {
                let b = blocks.iter().find(|b| &b.name == name)?;
                if !matches!(b.nesting, BlockNesting::Single | BlockNesting::Group)
                    && steps.next_if(|s| !matches!(s, Step::Attribute(_))).is_none()
                {
                    return None;
                }
                attrs = &b.block.attributes;
                blocks = &b.block.blocks;
            }
        }
    }
}

impl Schema {
    /// The object type of the whole configuration / state value.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }

    /// The longest prefix of `path` that Terraform can find in the configuration source.
    ///
    /// Terraform places an attribute diagnostic by following nested *blocks* and then looking
    /// for the last step as an attribute of the innermost block (an index right after it
    /// selects an element). A path into a nested *attribute* (`target.group_id`) names nothing
    /// it can find, so it falls back to the resource's first line; cut at the top of the
    /// nested attribute (`target`), it quotes the `target = { ... }` lines instead. The
    /// diagnostic's text still names the full path.
    pub fn source_path(&self, path: &AttributePath) -> AttributePath {
        let mut block = &self.block;
        let mut out = Vec::new();
        let mut steps = path.steps.iter().peekable();
        while let Some(step @ Step::Attribute(name)) = steps.next() {
            out.push(step.clone());
            let Some(nested) = block.nested_block(name) else {
                // An attribute ends what Terraform can follow, but for one element step.
                if let Some(index) = steps.next_if(|s| matches!(s, Step::Index(_) | Step::Key(_))) {
                    out.push(index.clone());
                }
                break;
            };
            match nested.nesting {
                BlockNesting::Single | BlockNesting::Group => {}
                BlockNesting::List | BlockNesting::Map => {
                    match steps.next_if(|s| matches!(s, Step::Index(_) | Step::Key(_))) {
                        Some(index) => out.push(index.clone()),
                        None => break,
                    }
                }
                BlockNesting::Set => break,
            }
            block = &nested.block;
        }
        AttributePath { steps: out }
    }

    /// `diags` with every attribute path cut to what Terraform can place (see
    /// [`Schema::source_path`]).
    pub fn locate(&self, mut diags: super::Diagnostics) -> super::Diagnostics {
        for d in &mut diags.0 {
            if let Some(path) = &d.path {
                d.path = Some(self.source_path(path));
            }
        }
        diags
    }

    /// See [`Block::attribute_at`].
    pub fn attribute_at(&self, path: &AttributePath) -> Option<&Attribute> {
        self.block.attribute_at(path)
    }
}
