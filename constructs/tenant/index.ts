// Re-exports of constructs/tenant (filled in as constructs land).
export {};
