@_exported import ExplainCore
