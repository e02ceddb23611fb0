"""Every limit ContextIQ enforces, in one place (documented in docs/limits.md)."""

KIB = 1024

MAX_REQUEST_BODY_BYTES = 1024 * KIB  # whole HTTP body; API Gateway's own cap is 10 MB
MAX_EVENT_CONTENT_BYTES = 64 * KIB  # JSON-encoded `content` of one event
MAX_STATE_BYTES = 64 * KIB  # JSON-encoded session state, after a delta/patch is applied
MAX_METADATA_KEYS = 16
MAX_METADATA_BYTES = 8 * KIB  # JSON-encoded metadata of one object
MAX_ID_LENGTH = 128  # user_id, app_name, author, scope keys/values, topic labels
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 366 * 24 * 3600
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_PAGE_TOKEN_LENGTH = 2048
MAX_JSON_DEPTH = 32  # nesting of any JSON request body, counted from the body itself
MAX_INTEGER_DIGITS = 4300  # digits of one JSON integer (Python's own int/str conversion limit)
MAX_EVENT_PARTS = 64
MAX_STATE_REMOVE_KEYS = 1000  # keys in one PATCH `remove`
MAX_SEQ = 10**10 - 2  # event seqs are stored as 10 digits; `after_seq` up to this
MAX_STATE_DELTA_BYTES = 64 * KIB  # JSON of one `state_delta`, or of one PATCH's `set` + `remove` (both are kept)
MAX_CHECKPOINTS_PER_SESSION = 100
MAX_CHECKPOINT_NAME_CHARS = 200
MAX_FORK_EVENTS = 5000  # events copied by one fork (it runs within the request: docs/sessions.md, "Forks")
MAX_FORK_BYTES = 4 * KIB * KIB  # JSON of the copied events' content + metadata + state_delta, together

MAX_FACT_CHARS = 2000
MAX_SCOPE_KEYS = 8
MIN_SCOPE_KEYS = 1
MAX_TOPICS_PER_MEMORY = 16
MAX_TOP_K = 100
MAX_QUERY_CHARS = 2000

MAX_GENERATE_EVENTS = 500  # direct events in one generate request
MAX_GENERATE_FACTS = 100  # pre-extracted facts in one generate request
MAX_JOB_SPEC_BYTES = 300 * KIB  # the stored generate request (DynamoDB items are capped at 400 KB)
MAX_WAIT_SECONDS = 25  # generate's wait_seconds (API Gateway times out at 29 s)
EXTRACTION_CHUNK_TURNS = 40  # long sessions are extracted in chunks of this many turns...
EXTRACTION_CHUNK_CHARS = 24_000  # ...or of this many characters, whichever comes first
CONSOLIDATION_PART_CANDIDATES = 25  # candidate facts per consolidation message
JOB_RETENTION_DAYS = 30

# Generation policies (docs/generation-policies.md)
MAX_POLICY_EVERY_N_EVENTS = 1000
MIN_POLICY_IDLE_SECONDS = 1
MAX_POLICY_IDLE_SECONDS = 86_400  # a day; the cloud re-arms SQS's 15-minute maximum delay until then
MAX_POLICY_BYTES = 32 * KIB  # one policy (topics + examples), compact JSON: it is stored on each session
MAX_POLICY_JOBS_PER_RECORD = 20  # every_n_events windows one stream record submits (more catch up later)
MAX_FILTER_CONDITIONS = 8  # conditions in one search/recall `filter`
MAX_FILTER_VALUES = 32  # values in one `in`

# Procedural memory (procedures, trajectories, learning)
MAX_PROCEDURE_STEPS = 50
MAX_PROCEDURE_NAME_CHARS = 200
MAX_PROCEDURE_DESCRIPTION_CHARS = 2000
MAX_STEP_TEXT_CHARS = 2000  # a step's instruction / expected, a trajectory step's thought / observation
MAX_STEP_ARGUMENTS_BYTES = 4 * KIB  # JSON-encoded `arguments` of one step
MAX_PROCEDURE_PARAMETERS = 20
MAX_PROCEDURE_BYTES = 96 * KIB  # name + description + steps + parameters + pitfalls, compact JSON
MAX_PITFALLS = 20  # the oldest pitfall note is dropped when a new one would exceed this
MAX_PITFALL_CHARS = 1000
MAX_PROVENANCE_IDS = 100  # trajectory ids and event ids kept on a procedure (each; the newest win)
MAX_FEEDBACK_NOTE_CHARS = 1000
MAX_TRAJECTORY_STEPS = 200
MAX_TRAJECTORY_BYTES = 256 * KIB  # a trajectory's task + steps + outcome, compact JSON
MAX_TASK_CHARS = 2000
MAX_GENERATE_TRAJECTORIES = 50  # trajectory_ids in one POST /v1/procedures/generate
DEPRECATION_MIN_USES = 5  # a procedure is deprecated when, over the outcomes since its steps last changed,
DEPRECATION_SUCCESS_RATE = 0.3  # there are at least 5 and fewer than 30 % were successes

# Change notifications (webhooks; docs/notifications.md)
MAX_WEBHOOKS_PER_TENANT = 20
MAX_WEBHOOK_URL_CHARS = 2048
WEBHOOK_SECRET_MIN_BYTES = 24  # decoded key bytes of a `whsec_<base64>` secret
WEBHOOK_SECRET_MAX_BYTES = 64
WEBHOOK_CONNECT_TIMEOUT_SECONDS = 5.0
WEBHOOK_READ_TIMEOUT_SECONDS = 10.0  # waiting for the receiver's answer
WEBHOOK_MAX_ATTEMPTS = 8  # then the delivery is FAILED and its message dead-lettered
WEBHOOK_RESPONSE_BYTES_KEPT = 512  # of a failed answer's body, kept in the delivery log
WEBHOOK_DELIVERY_RETENTION_DAYS = 30
MAX_EVENT_PAYLOAD_BYTES = 64 * KIB  # a change event's JSON (EventBridge detail, webhook body); larger -> data dropped

# Prompt templates and context assembly (docs/templates.md, docs/context.md)
MAX_TEMPLATE_NAME_CHARS = 200
MAX_TEMPLATE_DESCRIPTION_CHARS = 2000
MAX_TEMPLATE_BODY_CHARS = 32 * KIB  # characters of a template body (stored or inline)
MAX_TEMPLATE_VARIABLES = 32  # declared variables of one template
MAX_TEMPLATE_DEFAULT_BYTES = 4 * KIB  # JSON-encoded default of one declared variable
MAX_CONTEXT_VARIABLES_BYTES = 16 * KIB  # JSON-encoded `variables` of one context request
TEMPLATE_RENDER_SECONDS = 0.5  # wall time of all the renders of one request together
TEMPLATE_RENDER_CHARS = 512 * KIB  # characters of a render's output, and of any value it builds
TEMPLATE_RENDER_ITERATIONS = 100_000  # loop iterations of one request's renders together
MAX_CONTEXT_TOKENS = 100_000  # max_tokens of one context request
MAX_CONTEXT_RECENT_EVENTS = 100
MAX_CONTEXT_MEMORIES = 50
MAX_CONTEXT_EVENTS = 50
MAX_CONTEXT_PROCEDURES = 20
