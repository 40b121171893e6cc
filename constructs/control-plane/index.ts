// Re-exports of constructs/control-plane (filled in as constructs land).
export {};
