//! The cty type of a schema: what Terraform's DynamicValues for a resource, data source
//! or provider configuration are encoded as.

use std::collections::BTreeMap;

use crate::framework::Type;
use crate::framework::schema::{Attribute, AttributeType, Block, BlockNesting, ObjectNesting};

/// The object type of a block: one attribute per schema attribute and nested block.
pub fn block_type(block: &Block) -> Type {
    let mut attributes: BTreeMap<String, Type> =
        block.attributes.iter().map(|a| (a.name.clone(), attribute_type(a))).collect();
    for nested in &block.blocks {
        let object = block_type(&nested.block);
        let ty = match nested.nesting {
            BlockNesting::Single | BlockNesting::Group => object,
            BlockNesting::List => Type::List(Box::new(object)),
            BlockNesting::Set => Type::Set(Box::new(object)),
            BlockNesting::Map => Type::Map(Box::new(object)),
        };
        attributes.insert(nested.name.clone(), ty);
    }
    Type::Object { attributes, optional: Vec::new() }
}

/// The type of one attribute; nested attributes become (collections of) objects.
pub fn attribute_type(attribute: &Attribute) -> Type {
    match &attribute.ty {
        AttributeType::Plain(ty) => ty.clone(),
        AttributeType::Nested { nesting, attributes } => {
            let object = Type::Object {
                attributes: attributes.iter().map(|a| (a.name.clone(), attribute_type(a))).collect(),
                optional: Vec::new(),
            };
            match nesting {
                ObjectNesting::Single => object,
                ObjectNesting::List => Type::List(Box::new(object)),
                ObjectNesting::Set => Type::Set(Box::new(object)),
                ObjectNesting::Map => Type::Map(Box::new(object)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::NestedBlock;

    #[test]
    fn nested_attributes_and_blocks_become_objects() {
        let block = Block {
            attributes: vec![
                Attribute::string("id"),
                Attribute::nested("assignments", ObjectNesting::Set, vec![Attribute::string("group_id")]),
            ],
            blocks: vec![NestedBlock {
                name: "timeouts".into(),
                nesting: BlockNesting::Single,
                block: Block { attributes: vec![Attribute::string("create")], ..Block::default() },
                min_items: 0,
                max_items: 0,
            }],
            ..Block::default()
        };
        let object = |pairs: &[(&str, Type)]| Type::Object {
            attributes: pairs.iter().map(|(k, t)| ((*k).to_owned(), t.clone())).collect(),
            optional: Vec::new(),
        };
        assert_eq!(
            block_type(&block),
            object(&[
                ("id", Type::String),
                ("assignments", Type::Set(Box::new(object(&[("group_id", Type::String)])))),
                ("timeouts", object(&[("create", Type::String)])),
            ])
        );
    }
}
