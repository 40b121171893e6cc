// Re-exports of constructs/network (filled in as constructs land).
export {};
