#[derive(Default)]
pub struct OrgCache;
