// Re-exports of constructs/workload (filled in as constructs land).
export {};
