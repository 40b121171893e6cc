// Re-exports of constructs/rbac (filled in as constructs land).
export {};
