// ExplainKit: the umbrella module. `import ExplainKit` brings the core engine and every plugin.
@_exported import ExplainArrays
@_exported import ExplainCore
@_exported import ExplainONNX
@_exported import ExplainZoo
