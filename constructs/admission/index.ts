// Re-exports of constructs/admission (filled in as constructs land).
export {};
