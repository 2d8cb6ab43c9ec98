"""The simulator's HTTP resources, one APIRouter per module; `ROUTERS` is the order they are matched in."""
