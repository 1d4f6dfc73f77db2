// The OpenAPI 3.1 description of the Stream-compatible API, served at GET /openapi/stream.yaml (docs/operations.md).
// Edit the YAML here; the tests validate it and run schemathesis against a live node.
extension OpenAPIDocuments {
    static let stream = #"""
openapi: 3.1.0
info:
  title: Chorus Stream-compatible API
  version: "1"
  description: |
    The REST shapes of Stream Chat, served by a Chorus node at its root beside the v1 API
    (docs/stream-api.md). A second facade over the same engine: channels and messages made
    through either API are reachable through the other.

    - **`api_key`** query parameter on every route (checked against `stream.api_key`, default
      `chorus`); missing or wrong: 401, code 2. `GET /exports/{file}` is the exception: its signed
      URL is its credential.
    - **Authentication**: `Stream-Auth-Type: jwt` (assumed when absent) with `Authorization: <JWT>`
      (HS256, the v1 secret; a `Bearer ` prefix is tolerated). A token without `user_id` is a
      server token (no permission checks; calls that act as a user name it with `user_id` or
      `user.id`). `Stream-Auth-Type: anonymous` needs no token and may only read public
      (`livestream`) channels; everything else answers it 403, code 17.
    - **Errors** are `{"code", "message", "StatusCode", "duration", "more_info"}` with Stream's
      numeric codes: 2 (401, api_key), 4 (400, input), 5 (401, token), 9 (429), 16 (404), 17
      (403), 20 (400, message too long), 22 (413), 40-43 (401, token expired / not valid yet /
      issued in the future / bad signature), -1 (503, cluster unavailable). A path that matches no
      route answers in the v1 error shape (404 `NOT_FOUND`).
    - Request bodies are JSON objects; an empty body is `{}`, unknown keys are ignored and a
      `null` field counts as absent. Every response body is a JSON object with `duration`.
    - Every response of these routes carries `x-ratelimit-limit`, `x-ratelimit-remaining` and
      `x-ratelimit-reset` (the per-user token bucket shared with v1; server tokens are not
      limited, anonymous callers share one bucket) and `X-Request-Id`. Responses of 512 bytes or
      more are compressed when `Accept-Encoding` allows gzip or deflate.
    - Timestamps are RFC 3339 in UTC with milliseconds (`2026-12-01T10:00:00.123Z`).
    - Realtime events come over the WebSocket `GET /connect` (docs/stream-api.md, "WebSocket"),
      not described here.

# The headers of every response of the routes behind the Stream middleware.
x-stream-response-headers: &streamHeaders
  X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
  x-ratelimit-limit: {$ref: '#/components/headers/x-ratelimit-limit'}
  x-ratelimit-remaining: {$ref: '#/components/headers/x-ratelimit-remaining'}
  x-ratelimit-reset: {$ref: '#/components/headers/x-ratelimit-reset'}

tags:
  - name: Channels
  - name: Messages
  - name: Users
  - name: Moderation
  - name: Channel types
  - name: Tasks and exports
  - name: Segments
  - name: Campaigns
  - name: App
security:
  - streamJWT: []
paths:

  # Channels

  /channels:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    post:
      operationId: queryChannels
      summary: Query channels with a filter, sort and paging
      tags: [Channels]
      description: |
        A user token sees its own channels; a server call with `user_id` that user's; a server call
        without one every channel. Hidden channels are left out unless the filter names `hidden`.
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/QueryChannelsRequest'}
      responses:
        "201":
          description: The page of channels, each with its state.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [channels, duration]
                properties:
                  channels:
                    type: array
                    items: {$ref: '#/components/schemas/ChannelState'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/query:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
    post:
      operationId: getOrCreateChannelByMembers
      summary: Get or create the channel of exactly a set of members
      tags: [Channels]
      description: |
        The channel's id is `!members-` and 16 hex digits of a hash of the sorted member ids (with
        the creator), the same for the same set.
      security:
        - streamJWT: []
        - {}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/CreateByMembersRequest'}
      responses:
        "201":
          description: The channel's state.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ChannelStateResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/{id}/query:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
      - $ref: '#/components/parameters/id'
    post:
      operationId: getOrCreateChannel
      summary: Get a channel's state, creating the channel first if needed
      tags: [Channels]
      description: |
        A user token creates the channel as its user; a server token needs `data.created_by` or
        `data.created_by_id`. On an existing channel `data` is ignored. Anonymous callers may read
        public channels.
      security:
        - streamJWT: []
        - {}
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/GetOrCreateRequest'}
      responses:
        "201":
          description: The channel's state.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ChannelStateResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/{id}:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
      - name: id
        in: path
        required: true
        description: |
          The channel's id within its type. `query` is not usable here: `POST /channels/{type}/query`
          takes that path.
        schema:
          allOf:
            - $ref: '#/components/schemas/ChannelIDPart'
            - not: {const: query}
    post:
      operationId: updateChannel
      summary: Replace a channel's data and change its members (owner or moderator)
      tags: [Channels]
      description: |
        `data` replaces the custom data (and `data.name` the name); `add_members`,
        `remove_members`, `add_moderators` and `demote_moderators` change membership and roles. A
        server's changes are made as the channel's owner.
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/UpdateChannelRequest'}
      responses:
        "201":
          description: The channel and its members.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ChannelAndMembersResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    patch:
      operationId: partialUpdateChannel
      summary: Set and unset a channel's custom fields (and its name)
      tags: [Channels]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/PartialUpdateChannelRequest'}
      responses:
        "200":
          description: The channel and its members.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ChannelAndMembersResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    delete:
      operationId: deleteChannel
      summary: Delete a channel for everyone (owner or moderator)
      tags: [Channels]
      description: The body is optional; a server may name the acting user in it.
      parameters:
        - name: hard_delete
          in: query
          description: Also erase the channel's messages.
          schema: {$ref: '#/components/schemas/BooleanFlag'}
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ActingUser'}
      responses:
        "200":
          description: The channel as it was, with `deleted_at`.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [channel, duration]
                properties:
                  channel:
                    allOf:
                      - $ref: '#/components/schemas/Channel'
                      - type: object
                        required: [deleted_at]
                        properties:
                          deleted_at: {$ref: '#/components/schemas/Time'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/{id}/message:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
      - $ref: '#/components/parameters/id'
    post:
      operationId: sendMessage
      summary: Send a message (idempotent with a message id)
      tags: [Messages]
      description: |
        The sender is the token's user, or for a server `message.user.id`, `message.user_id` or
        `user_id`; it must be a member. Only `text` and `id` are read so far; `parent_id` and
        `quoted_message_id` are refused. Sending an `id` the sender already used in the channel
        answers the original message.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SendMessageRequest'}
      responses:
        "201":
          description: The message.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/MessageResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/{id}/messages:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
      - $ref: '#/components/parameters/id'
    get:
      operationId: getMessagesByID
      summary: Messages of a channel by id, in the order asked
      tags: [Messages]
      parameters:
        - name: ids
          in: query
          required: true
          description: >-
            1-100 message ids (as this API shows them, or engine ids), separated by commas; ids the
            channel does not have are left out.
          schema: {type: string, minLength: 1}
      responses:
        "200":
          description: The messages found.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [messages, duration]
                properties:
                  messages:
                    type: array
                    items: {$ref: '#/components/schemas/Message'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/{id}/hide:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
      - $ref: '#/components/parameters/id'
    post:
      operationId: hideChannel
      summary: Hide a channel for the user until its next message
      tags: [Channels]
      requestBody:
        content:
          application/json:
            schema:
              allOf:
                - $ref: '#/components/schemas/ActingUser'
                - type: object
                  properties:
                    clear_history:
                      type: boolean
                      description: Also hide the history so far from this user.
      responses:
        "201": {$ref: '#/components/responses/Empty'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/{id}/show:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
      - $ref: '#/components/parameters/id'
    post:
      operationId: showChannel
      summary: Show a hidden channel for the user again
      tags: [Channels]
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ActingUser'}
      responses:
        "201": {$ref: '#/components/responses/Empty'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/{id}/read:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
      - $ref: '#/components/parameters/id'
    post:
      operationId: markChannelRead
      summary: Mark a channel read up to a message, or its newest
      tags: [Channels]
      requestBody:
        content:
          application/json:
            schema:
              allOf:
                - $ref: '#/components/schemas/ActingUser'
                - type: object
                  properties:
                    message_id:
                      type: string
                      description: The message (as this API shows its id); default the newest.
      responses:
        "201":
          description: The `message.read` event.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [event, duration]
                properties:
                  event:
                    type: object
                    required: [type, cid, channel_type, channel_id, user, created_at]
                    properties:
                      type: {const: message.read}
                      cid: {$ref: '#/components/schemas/CID'}
                      channel_type: {$ref: '#/components/schemas/ChannelTypeName'}
                      channel_id: {$ref: '#/components/schemas/ChannelIDPart'}
                      user: {$ref: '#/components/schemas/User'}
                      created_at: {$ref: '#/components/schemas/Time'}
                      last_read_message_id:
                        type: string
                        description: Absent when the channel has no message to mark.
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/{id}/truncate:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
      - $ref: '#/components/parameters/id'
    post:
      operationId: truncateChannel
      summary: Remove every message sent so far (owner or moderator)
      tags: [Channels]
      description: '`message` (a system message) is not supported yet: 400.'
      requestBody:
        content:
          application/json:
            schema:
              allOf:
                - $ref: '#/components/schemas/ActingUser'
                - type: object
                  properties:
                    hard_delete:
                      type: boolean
                      description: Also erase the messages from the store.
      responses:
        "201":
          description: The channel, with `truncated_at`.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [channel, duration]
                properties:
                  channel:
                    allOf:
                      - $ref: '#/components/schemas/Channel'
                      - type: object
                        required: [truncated_at]
                        properties:
                          truncated_at: {$ref: '#/components/schemas/Time'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/{id}/event:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
      - $ref: '#/components/parameters/id'
    post:
      operationId: sendEvent
      summary: Send a typing or custom event to the channel
      tags: [Channels]
      description: |
        `typing.start` and `typing.stop` set the typing state; any other type is a custom event (1-64
        characters, outside Stream's own families `message.`, `channel.`, `typing.`, `user.`,
        `member.`, `reaction.`, `notification.`, `health.`, `connection.`) whose other fields (at
        most 5 KB) reach the channel's watchers.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SendEventRequest'}
      responses:
        "201":
          description: The event as sent.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [event, duration]
                properties:
                  event:
                    description: The event's own fields, then these.
                    type: object
                    required: [type, cid, channel_type, channel_id, user, created_at]
                    properties:
                      type: {type: string}
                      cid: {$ref: '#/components/schemas/CID'}
                      channel_type: {$ref: '#/components/schemas/ChannelTypeName'}
                      channel_id: {$ref: '#/components/schemas/ChannelIDPart'}
                      user: {$ref: '#/components/schemas/UserRef'}
                      created_at: {$ref: '#/components/schemas/Time'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/{type}/{id}/stop-watching:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/type'
      - $ref: '#/components/parameters/id'
    post:
      operationId: stopWatchingChannel
      summary: Stop a WebSocket connection watching the channel
      tags: [Channels]
      description: On a single node a `connection_id` that is not an open socket of the node is 400.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              allOf:
                - $ref: '#/components/schemas/ActingUser'
                - type: object
                  required: [connection_id]
                  properties:
                    connection_id: {type: string, minLength: 1}
      responses:
        "200": {$ref: '#/components/responses/Empty'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/read:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    post:
      operationId: markAllRead
      summary: Mark every channel of the user read up to its newest message
      tags: [Channels]
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ActingUser'}
      responses:
        "201": {$ref: '#/components/responses/Empty'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channels/delete:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    post:
      operationId: deleteChannels
      summary: Start a task that deletes channels
      tags: [Tasks and exports]
      description: |
        A server deletes any channel; a user those it owns or moderates. Each channel's outcome is
        in the task's `result` (`GET /tasks/{taskID}`).
      requestBody:
        required: true
        content:
          application/json:
            schema:
              allOf:
                - $ref: '#/components/schemas/ActingUser'
                - type: object
                  required: [cids]
                  properties:
                    cids:
                      type: array
                      minItems: 1
                      maxItems: 100
                      items: {$ref: '#/components/schemas/CID'}
                    hard_delete: {type: boolean}
      responses:
        "201": {$ref: '#/components/responses/TaskStarted'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /unread:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    get:
      operationId: getUnreadCounts
      summary: The user's unread messages, in total and by channel
      tags: [Channels]
      parameters:
        - name: user_id
          in: query
          description: The user (server tokens; a user token may only name itself).
          schema: {$ref: '#/components/schemas/UserID'}
      responses:
        "200":
          description: The unread counts.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [total_unread_count, unread_channels, channels, duration]
                properties:
                  total_unread_count: {type: integer, minimum: 0}
                  unread_channels: {type: integer, minimum: 0}
                  channels:
                    description: The channels with unread messages, by cid.
                    type: array
                    items:
                      type: object
                      required: [channel_id, unread_count, last_read]
                      properties:
                        channel_id: {$ref: '#/components/schemas/CID'}
                        unread_count: {type: integer, minimum: 1}
                        last_read:
                          anyOf:
                            - $ref: '#/components/schemas/Time'
                            - type: 'null'
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /members:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    get:
      operationId: queryMembers
      summary: Query a channel's members with a filter, sort and paging
      tags: [Channels]
      description: |
        Filter and sort fields - `id`, `user_id`, `name`, `channel_role`, `is_moderator`,
        `created_at`, `updated_at`, `banned`, `joined`. Default sort - join time, ascending. The
        caller must be able to read the channel (anyone, for a public one).
      security:
        - streamJWT: []
        - {}
      parameters:
        - name: payload
          in: query
          required: true
          content:
            application/json:
              schema: {$ref: '#/components/schemas/QueryMembersPayload'}
      responses:
        "200":
          description: The page of members.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [members, duration]
                properties:
                  members:
                    type: array
                    items: {$ref: '#/components/schemas/Member'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /search:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    get:
      operationId: searchMessages
      summary: Search messages by whole words in the channels a filter matches
      tags: [Messages]
      parameters:
        - name: payload
          in: query
          required: true
          content:
            application/json:
              schema: {$ref: '#/components/schemas/SearchPayload'}
      responses:
        "200":
          description: The page of results, newest first unless sorted otherwise.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [results, duration]
                properties:
                  results:
                    type: array
                    items:
                      type: object
                      required: [message]
                      properties:
                        message:
                          allOf:
                            - $ref: '#/components/schemas/Message'
                            - type: object
                              required: [channel]
                              properties:
                                channel: {$ref: '#/components/schemas/Channel'}
                  next:
                    type: string
                    description: The `next` of the following page (present when there is one).
                  previous:
                    type: string
                    description: The offset of the previous page (present after the first).
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  # Messages by id and reactions

  /messages/{messageID}:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/messageID'
    get:
      operationId: getMessage
      summary: Get a message by id (readers of its channel)
      tags: [Messages]
      responses:
        "200":
          description: The message.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/MessageResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    post:
      operationId: updateMessage
      summary: Replace a message's text (its sender; a server edits as the sender)
      tags: [Messages]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/UpdateMessageRequest'}
      responses:
        "200":
          description: The edited message.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/MessageResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    put:
      operationId: partialUpdateMessage
      summary: Set a message's text (only `set.text` can change so far)
      tags: [Messages]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/PartialUpdateMessageRequest'}
      responses:
        "200":
          description: The edited message.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/MessageResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    delete:
      operationId: deleteMessage
      summary: Delete a message (sender, owner or moderator; a server - anyone)
      tags: [Messages]
      parameters:
        - name: hard
          in: query
          description: Accepted; deletes the same way (the message stays as `type` `deleted`).
          schema: {$ref: '#/components/schemas/BooleanFlag'}
        - name: deleted_by
          in: query
          description: The acting user (server tokens; default the sender).
          schema: {$ref: '#/components/schemas/UserID'}
      responses:
        "200":
          description: The deleted message.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/MessageResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /messages/{messageID}/reaction:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/messageID'
    post:
      operationId: addReaction
      summary: React to a message (a second identical reaction is 400)
      tags: [Messages]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/AddReactionRequest'}
      responses:
        "201":
          description: The message and the new reaction.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [message, reaction, duration]
                properties:
                  message: {$ref: '#/components/schemas/Message'}
                  reaction:
                    type: object
                    required: [type, user_id, user, message_id, score, created_at]
                    properties:
                      type: {$ref: '#/components/schemas/ReactionType'}
                      user_id: {$ref: '#/components/schemas/UserID'}
                      user: {$ref: '#/components/schemas/UserRef'}
                      message_id: {type: string}
                      score: {type: integer}
                      created_at: {$ref: '#/components/schemas/Time'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /messages/{messageID}/reaction/{reactionType}:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/messageID'
      - name: reactionType
        in: path
        required: true
        schema: {$ref: '#/components/schemas/ReactionType'}
    delete:
      operationId: removeReaction
      summary: Remove the user's reaction of a type (404 if there is none)
      tags: [Messages]
      parameters:
        - name: user_id
          in: query
          description: The reacting user (server tokens; a user token may only name itself).
          schema: {$ref: '#/components/schemas/UserID'}
      responses:
        "200":
          description: The message and the removed reaction.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [message, reaction, duration]
                properties:
                  message: {$ref: '#/components/schemas/Message'}
                  reaction:
                    type: object
                    required: [type, user_id, message_id]
                    properties:
                      type: {$ref: '#/components/schemas/ReactionType'}
                      user_id: {$ref: '#/components/schemas/UserID'}
                      message_id: {type: string}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /messages/{messageID}/reactions:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/messageID'
    get:
      operationId: listReactions
      summary: Each user's reaction to a message, by type in first-use order
      tags: [Messages]
      parameters:
        - name: limit
          in: query
          schema: {type: integer, minimum: 1, maximum: 300, default: 25}
        - name: offset
          in: query
          schema: {type: integer, minimum: 0, default: 0}
      responses:
        "200":
          description: The page of reactions.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [reactions, duration]
                properties:
                  reactions:
                    type: array
                    items:
                      type: object
                      required: [type, user_id, user, message_id, score]
                      properties:
                        type: {$ref: '#/components/schemas/ReactionType'}
                        user_id: {$ref: '#/components/schemas/UserID'}
                        user: {$ref: '#/components/schemas/UserRef'}
                        message_id: {type: string}
                        score: {type: integer}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  # Users

  /users:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    post:
      operationId: upsertUsers
      summary: Create or rename users (server token)
      tags: [Users]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/UpsertUsersRequest'}
      responses:
        "201":
          description: The users, by id.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/UsersByIDResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    patch:
      operationId: partialUpdateUsers
      summary: Rename users (a server, or a user token for itself; only set.name so far)
      tags: [Users]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/PartialUpdateUsersRequest'}
      responses:
        "200":
          description: The users, by id.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/UsersByIDResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    get:
      operationId: queryUsers
      summary: Query users a filter names by id
      tags: [Users]
      description: |
        The filter must name the users (`{"id": {"$in": [...]}}` or `$eq`); it may also test `name`,
        `role`, `created_at`, `updated_at` and `online`. Users that do not exist are left out.
      parameters:
        - name: payload
          in: query
          required: true
          content:
            application/json:
              schema: {$ref: '#/components/schemas/QueryUsersPayload'}
      responses:
        "200":
          description: The matching users.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [users, duration]
                properties:
                  users:
                    type: array
                    items: {$ref: '#/components/schemas/FullUser'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  # Moderation

  /moderation/mute/channel:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    post:
      operationId: muteChannels
      summary: Mute channels for the user (optionally until an expiration)
      tags: [Moderation]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/MuteRequest'}
      responses:
        "201":
          description: The mutes (`channel_mute` too when one channel was named).
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [channel_mutes, own_user, duration]
                properties:
                  channel_mute: {$ref: '#/components/schemas/ChannelMute'}
                  channel_mutes:
                    type: array
                    items: {$ref: '#/components/schemas/ChannelMute'}
                  own_user: {$ref: '#/components/schemas/User'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /moderation/unmute/channel:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    post:
      operationId: unmuteChannels
      summary: Unmute channels for the user (a no-op for one not muted)
      tags: [Moderation]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/MuteRequest'}
      responses:
        "201": {$ref: '#/components/responses/Empty'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  # Channel types (server tokens)

  /channeltypes:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    post:
      operationId: createChannelType
      summary: Create a channel type (server token)
      tags: [Channel types]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              allOf:
                - $ref: '#/components/schemas/ChannelTypeFields'
                - type: object
                  required: [name]
                  properties:
                    name: {$ref: '#/components/schemas/ChannelTypeName'}
      responses:
        "201":
          description: The type, with `commands` as names.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ChannelTypeWithCommandNamesResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    get:
      operationId: listChannelTypes
      summary: Every channel type (server token)
      tags: [Channel types]
      responses:
        "200":
          description: The types by name, with `commands` as objects.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [channel_types, duration]
                properties:
                  channel_types:
                    type: object
                    additionalProperties: {$ref: '#/components/schemas/ChannelTypeWithCommandObjects'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /channeltypes/{name}:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - name: name
        in: path
        required: true
        description: The type's name.
        schema: {type: string, minLength: 1}
    get:
      operationId: getChannelType
      summary: Get a channel type (server token)
      tags: [Channel types]
      responses:
        "200":
          description: The type, with `commands` as objects.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                allOf:
                  - $ref: '#/components/schemas/ChannelTypeWithCommandObjects'
                  - $ref: '#/components/schemas/WithDuration'
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    put:
      operationId: updateChannelType
      summary: Change the fields given of a channel type (server token)
      tags: [Channel types]
      description: '`permissions`, `grants` and `commands` are replaced whole.'
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ChannelTypeFields'}
      responses:
        "201":
          description: The type, with `commands` as names.
          headers: *streamHeaders
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ChannelTypeWithCommandNamesResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    delete:
      operationId: deleteChannelType
      summary: Delete a channel type no channel has (built-in types stay)
      tags: [Channel types]
      responses:
        "200": {$ref: '#/components/responses/Empty'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  # Tasks and exports

  /tasks/{taskID}:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/taskID'
    get:
      operationId: getTask
      summary: A background task's status (a server, or the user who started it)
      tags: [Tasks and exports]
      responses:
        "200":
          description: The task; `result` once it has ended.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                allOf:
                  - $ref: '#/components/schemas/Task'
                  - $ref: '#/components/schemas/WithDuration'
                  - type: object
                    properties:
                      result:
                        description: Each channel's outcome, by cid.
                        type: object
                        additionalProperties:
                          type: object
                          required: [status]
                          properties:
                            status: {type: string, enum: [ok, error]}
                            error: {type: string}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /export_channels:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    post:
      operationId: exportChannels
      summary: Start a task that exports channels to one JSON document (server token)
      tags: [Tasks and exports]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ExportChannelsRequest'}
      responses:
        "201": {$ref: '#/components/responses/TaskStarted'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /export_channels/{taskID}:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/taskID'
    get:
      operationId: getExportStatus
      summary: An export task's status, with a signed download URL once completed (server token)
      tags: [Tasks and exports]
      responses:
        "200":
          description: The task.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                allOf:
                  - $ref: '#/components/schemas/Task'
                  - $ref: '#/components/schemas/WithDuration'
                  - type: object
                    properties:
                      result:
                        description: Once completed - the download URL (valid for `cdn.url_ttl_seconds`) and the file.
                        type: object
                        required: [url, path]
                        properties:
                          url: {type: string}
                          path: {type: string}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /exports/{file}:
    get:
      operationId: downloadExport
      summary: Download an export file through its signed URL
      tags: [Tasks and exports]
      description: |
        Outside the Stream middleware - no `api_key` or token (the signature is the credential),
        no rate-limit headers, and errors in the v1 shape. A wrong or expired signature, or an
        unknown file, is 404 `NOT_FOUND`, without saying which.
      security: []
      parameters:
        - name: file
          in: path
          required: true
          description: '`<task id>.json`.'
          schema: {type: string, minLength: 1}
        - name: expires
          in: query
          required: true
          description: Unix seconds; the URL works until then.
          schema: {type: integer}
        - name: signature
          in: query
          required: true
          description: Lowercase hex HMAC-SHA256 of `exports/<file>?expires=<expires>` with the CDN key.
          schema: {type: string, pattern: '^[0-9a-fA-F]{64}$'}
      responses:
        "200":
          description: The export document.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ExportDocument'}
        "404":
          description: '`NOT_FOUND` (v1 error shape).'
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/V1Error'}
        default:
          description: Any other error (v1 error shape).
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/V1Error'}

  # Segments (server tokens)

  /segments:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    post:
      operationId: createSegment
      summary: Create a user segment (server token)
      tags: [Segments]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              description: '`{"segment": {...}}`, or the same fields at the top level.'
              anyOf:
                - type: object
                  required: [segment]
                  properties:
                    segment: {$ref: '#/components/schemas/NewSegmentFields'}
                - $ref: '#/components/schemas/NewSegmentFields'
      responses:
        "201": {$ref: '#/components/responses/SegmentResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    get:
      operationId: listSegments
      summary: Segments, oldest first (server token)
      tags: [Segments]
      parameters:
        - $ref: '#/components/parameters/limit'
        - $ref: '#/components/parameters/offset'
      responses:
        "200":
          description: The page of segments.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [segments, duration]
                properties:
                  segments:
                    type: array
                    items: {$ref: '#/components/schemas/Segment'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /segments/{segmentID}:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - name: segmentID
        in: path
        required: true
        schema: {type: string, minLength: 1}
    get:
      operationId: getSegment
      summary: Get a segment (server token)
      tags: [Segments]
      responses:
        "200": {$ref: '#/components/responses/SegmentResponse'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    put:
      operationId: updateSegment
      summary: Change the fields given of a segment (server token)
      tags: [Segments]
      description: A segment that an unfinished campaign uses keeps its filter (400).
      requestBody:
        content:
          application/json:
            schema:
              description: '`{"segment": {...}}`, or the same fields at the top level.'
              anyOf:
                - type: object
                  required: [segment]
                  properties:
                    segment: {$ref: '#/components/schemas/SegmentFields'}
                - $ref: '#/components/schemas/SegmentFields'
      responses:
        "201": {$ref: '#/components/responses/SegmentResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    delete:
      operationId: deleteSegment
      summary: Delete a segment no unfinished campaign uses (server token)
      tags: [Segments]
      responses:
        "200": {$ref: '#/components/responses/Empty'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  # Campaigns (server tokens)

  /campaigns:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    post:
      operationId: createCampaign
      summary: Create a campaign, as a draft (server token)
      tags: [Campaigns]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              description: '`{"campaign": {...}}`, or the same fields at the top level.'
              anyOf:
                - type: object
                  required: [campaign]
                  properties:
                    campaign: {$ref: '#/components/schemas/NewCampaignFields'}
                - $ref: '#/components/schemas/NewCampaignFields'
      responses:
        "201": {$ref: '#/components/responses/CampaignResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    get:
      operationId: listCampaigns
      summary: Campaigns, oldest first (server token)
      tags: [Campaigns]
      parameters:
        - $ref: '#/components/parameters/limit'
        - $ref: '#/components/parameters/offset'
      responses:
        "200":
          description: The page of campaigns.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [campaigns, duration]
                properties:
                  campaigns:
                    type: array
                    items: {$ref: '#/components/schemas/Campaign'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /campaigns/{campaignID}:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/campaignID'
    get:
      operationId: getCampaign
      summary: Get a campaign with its status and counters (server token)
      tags: [Campaigns]
      responses:
        "200": {$ref: '#/components/responses/CampaignResponse'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    put:
      operationId: updateCampaign
      summary: Change the fields given of a campaign that is not running or completed (server token)
      tags: [Campaigns]
      requestBody:
        content:
          application/json:
            schema:
              description: '`{"campaign": {...}}`, or the same fields at the top level.'
              anyOf:
                - type: object
                  required: [campaign]
                  properties:
                    campaign: {$ref: '#/components/schemas/CampaignFields'}
                - $ref: '#/components/schemas/CampaignFields'
      responses:
        "201": {$ref: '#/components/responses/CampaignResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    delete:
      operationId: deleteCampaign
      summary: Delete a campaign (a running one stops at its next batch)
      tags: [Campaigns]
      responses:
        "200": {$ref: '#/components/responses/Empty'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /campaigns/{campaignID}/schedule:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/campaignID'
    patch:
      operationId: scheduleCampaign
      summary: Schedule a draft or scheduled campaign (server token)
      tags: [Campaigns]
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ScheduleCampaignRequest'}
      responses:
        "200": {$ref: '#/components/responses/CampaignResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /campaigns/{campaignID}/start:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/campaignID'
    post:
      operationId: startCampaign
      summary: Schedule a draft or scheduled campaign, as PATCH .../schedule (server token)
      tags: [Campaigns]
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ScheduleCampaignRequest'}
      responses:
        "200": {$ref: '#/components/responses/CampaignResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /campaigns/{campaignID}/stop:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/campaignID'
    patch:
      operationId: stopCampaign
      summary: Stop a scheduled or running campaign (server token)
      tags: [Campaigns]
      responses:
        "200": {$ref: '#/components/responses/CampaignResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    post:
      operationId: stopCampaignWithPost
      summary: Stop a scheduled or running campaign, as PATCH (server token)
      tags: [Campaigns]
      responses:
        "200": {$ref: '#/components/responses/CampaignResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /campaigns/{campaignID}/resume:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/campaignID'
    patch:
      operationId: resumeCampaign
      summary: Resume a stopped campaign where it stopped (server token)
      tags: [Campaigns]
      responses:
        "200": {$ref: '#/components/responses/CampaignResponse'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /campaigns/{campaignID}/test:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
      - $ref: '#/components/parameters/campaignID'
    post:
      operationId: testCampaign
      summary: Send a campaign's message to 1-10 users now (server token)
      tags: [Campaigns]
      description: The campaign's status and counters do not change.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [users]
              properties:
                users:
                  type: array
                  minItems: 1
                  maxItems: 10
                  items: {$ref: '#/components/schemas/MemberRef'}
      responses:
        "201":
          description: What happened for each user.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [status, results, duration]
                properties:
                  status: {type: string, enum: [ok, failed]}
                  results:
                    description: By user id - `sent`, or why not.
                    type: object
                    additionalProperties: {type: string}
                  details:
                    type: string
                    description: How many users were not sent the message (when some were not).
                  duration: {$ref: '#/components/schemas/Duration'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  # App

  /app:
    parameters:
      - $ref: '#/components/parameters/api_key'
      - $ref: '#/components/parameters/stream-auth-type'
    get:
      operationId: getApp
      summary: The app's settings as far as Chorus has them
      tags: [App]
      responses:
        "200":
          description: The app.
          headers: *streamHeaders
          content:
            application/json:
              schema:
                type: object
                required: [app, duration]
                properties:
                  app:
                    type: object
                    required: [
                      name, permission_version, multi_tenant_enabled, auth_type, max_message_length,
                      channel_configs]
                    properties:
                      name: {type: string, description: "The node's name."}
                      permission_version: {const: v2}
                      multi_tenant_enabled: {type: boolean}
                      auth_type: {const: jwt}
                      max_message_length: {type: integer}
                      channel_configs:
                        description: Every channel type's settings, by name, as `GET /channeltypes` shows them.
                        type: object
                        additionalProperties: {$ref: '#/components/schemas/ChannelTypeWithCommandObjects'}
                  duration: {$ref: '#/components/schemas/Duration'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

components:
  securitySchemes:
    streamJWT:
      type: apiKey
      in: header
      name: Authorization
      description: |
        The raw HS256 JWT (a `Bearer ` prefix is tolerated), with `Stream-Auth-Type: jwt` or no
        such header. Claims `user_id` (absent in a server token), optional `name`, `exp`, `nbf`,
        `iat`.

  parameters:
    api_key:
      name: api_key
      in: query
      required: true
      description: The app's key (`stream.api_key`).
      schema: {type: string}
      example: chorus
    stream-auth-type:
      name: stream-auth-type
      in: header
      required: false
      description: '`jwt` (the default) or `anonymous` (no token; public channels only), in any case.'
      schema: {type: string, enum: [jwt, anonymous]}
    type:
      name: type
      in: path
      required: true
      description: The channel's type.
      schema: {$ref: '#/components/schemas/ChannelTypeName'}
    id:
      name: id
      in: path
      required: true
      description: The channel's id within its type (for the v1 types `dm`, `group`, `room`, the decimal v1 id).
      schema: {$ref: '#/components/schemas/ChannelIDPart'}
    messageID:
      name: messageID
      in: path
      required: true
      description: |
        A message's id as this API shows it - the id its sender gave, else the engine's decimal id
        (which also works). Any 1-255 characters are looked up; an unknown id is 404.
      schema: {type: string, minLength: 1, maxLength: 255}
    taskID:
      name: taskID
      in: path
      required: true
      description: '`<node>-<uuid>`; unknown ids are 404.'
      schema: {type: string, minLength: 1, maxLength: 200}
    campaignID:
      name: campaignID
      in: path
      required: true
      schema: {type: string, minLength: 1}
    limit:
      name: limit
      in: query
      schema: {type: integer, minimum: 1, maximum: 100, default: 25}
    offset:
      name: offset
      in: query
      schema: {type: integer, minimum: 0, maximum: 10000, default: 0}

  headers:
    X-Request-Id:
      description: The request's id (the caller's own `X-Request-Id` if it is 1-128 visible ASCII characters).
      required: true
      schema: {type: string, minLength: 1}
    x-ratelimit-limit:
      description: The rate-limit bucket's size (`limits.user_request_burst`).
      required: true
      schema: {type: integer, minimum: 0}
    x-ratelimit-remaining:
      description: Requests left in the caller's bucket (the limit for server tokens).
      required: true
      schema: {type: integer, minimum: 0}
    x-ratelimit-reset:
      description: Unix seconds when the bucket is full again.
      required: true
      schema: {type: integer}
    Retry-After:
      description: Seconds to wait before retrying.
      schema: {type: integer, minimum: 1}

  responses:
    Empty:
      description: Done.
      headers: *streamHeaders
      content:
        application/json:
          schema: {$ref: '#/components/schemas/WithDuration'}
    TaskStarted:
      description: The task was started; follow it with `GET /tasks/{taskID}`.
      headers: *streamHeaders
      content:
        application/json:
          schema:
            type: object
            required: [task_id, duration]
            properties:
              task_id: {type: string}
              duration: {$ref: '#/components/schemas/Duration'}
    SegmentResponse:
      description: The segment.
      headers: *streamHeaders
      content:
        application/json:
          schema:
            type: object
            required: [segment, duration]
            properties:
              segment: {$ref: '#/components/schemas/Segment'}
              duration: {$ref: '#/components/schemas/Duration'}
    CampaignResponse:
      description: The campaign.
      headers: *streamHeaders
      content:
        application/json:
          schema:
            type: object
            required: [campaign, duration]
            properties:
              campaign: {$ref: '#/components/schemas/Campaign'}
              duration: {$ref: '#/components/schemas/Duration'}
    BadRequest:
      description: Code 4 (bad input, naming the field) or 20 (message too long).
      headers: *streamHeaders
      content:
        application/json:
          schema: {$ref: '#/components/schemas/StreamError'}
    Unauthorized:
      description: >-
        Code 2 (`api_key` missing or wrong), 5 (no or invalid token, bad `Stream-Auth-Type`) or 40-43
        (token expired, not valid yet, issued in the future, bad signature).
      headers: *streamHeaders
      content:
        application/json:
          schema: {$ref: '#/components/schemas/StreamError'}
    Forbidden:
      description: >-
        Code 17 (not a member, not owner or moderator, another user, a server token needed, anonymous,
        or the channel type refuses).
      headers: *streamHeaders
      content:
        application/json:
          schema: {$ref: '#/components/schemas/StreamError'}
    NotFound:
      description: Code 16 (no such channel, message, user, reaction, type, task, segment or campaign).
      headers: *streamHeaders
      content:
        application/json:
          schema: {$ref: '#/components/schemas/StreamError'}
    PayloadTooLarge:
      description: Code 22 (the body is over `limits.max_body_bytes`, or custom data over 5 KiB).
      headers: *streamHeaders
      content:
        application/json:
          schema: {$ref: '#/components/schemas/StreamError'}
    TooManyRequests:
      description: Code 9 (rate limited).
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
        x-ratelimit-limit: {$ref: '#/components/headers/x-ratelimit-limit'}
        x-ratelimit-remaining: {$ref: '#/components/headers/x-ratelimit-remaining'}
        x-ratelimit-reset: {$ref: '#/components/headers/x-ratelimit-reset'}
        Retry-After: {$ref: '#/components/headers/Retry-After'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/StreamError'}
    ServiceUnavailable:
      description: Code -1 (a node of the cluster is unavailable, or no majority committed a change in time).
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
        x-ratelimit-limit: {$ref: '#/components/headers/x-ratelimit-limit'}
        x-ratelimit-remaining: {$ref: '#/components/headers/x-ratelimit-remaining'}
        x-ratelimit-reset: {$ref: '#/components/headers/x-ratelimit-reset'}
        Retry-After: {$ref: '#/components/headers/Retry-After'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/StreamError'}
    Error:
      description: Any other error, in the same shape (code -1 with 500 is a bug).
      headers: *streamHeaders
      content:
        application/json:
          schema: {$ref: '#/components/schemas/StreamError'}

  schemas:

    # Scalars

    Duration:
      description: The time the request took, in milliseconds.
      type: string
      pattern: '^[0-9]+\.[0-9]{2}ms$'
      examples: [0.31ms]
    Time:
      description: RFC 3339 in UTC with milliseconds.
      type: string
      format: date-time
      examples: ['2026-12-01T10:00:00.123Z']
    UserID:
      type: string
      pattern: '^[A-Za-z0-9_.@-]{1,64}$'
    ChannelTypeName:
      type: string
      pattern: '^[A-Za-z0-9_-]{1,64}$'
    ChannelIDPart:
      type: string
      pattern: '^[A-Za-z0-9_!-]{1,64}$'
    CID:
      description: '`type:id`.'
      type: string
      pattern: '^[A-Za-z0-9_-]{1,64}:[A-Za-z0-9_!-]{1,64}$'
    ClientMessageID:
      type: string
      pattern: '^[A-Za-z0-9_.:-]{1,64}$'
    ReactionType:
      description: 1-128 visible ASCII characters without `/ ? # %` (v1's emote asset ids are reaction types).
      type: string
      pattern: '^[!"$&-.0->@-~]{1,128}$'
    BooleanFlag:
      type: string
      enum: ["true", "false", "1", "0"]
    FilterConditions:
      description: |
        A query filter in Stream's syntax - `$eq $ne $in $nin $gt $gte $lt $lte $exists
        $autocomplete $q $contains` on fields, `$and $or $nor` (at most 5 levels deep, 100
        conditions, lists of 1,000 values).
      type: object
    Sort:
      description: >-
        Up to 5 `{"field", "direction"}` objects (direction 1 or -1, default 1), or one `{"<field>": 1
        | -1}` object.
      anyOf:
        - type: array
          maxItems: 5
          items:
            type: object
            required: [field]
            properties:
              field: {type: string, minLength: 1}
              direction: {enum: [1, -1, null]}
        - type: object
          minProperties: 1
          maxProperties: 1
          additionalProperties: {enum: [1, -1]}
        - type: 'null'

    # Errors

    StreamError:
      type: object
      required: [code, message, StatusCode, duration, more_info]
      properties:
        code:
          description: Stream's error code.
          type: integer
          enum: [-1, 2, 4, 5, 9, 16, 17, 20, 22, 40, 41, 42, 43]
        message: {type: string}
        StatusCode: {type: integer, description: The HTTP status.}
        duration: {$ref: '#/components/schemas/Duration'}
        more_info: {type: string}
    V1Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code: {type: string}
            message: {type: string}
    WithDuration:
      type: object
      required: [duration]
      properties:
        duration: {$ref: '#/components/schemas/Duration'}

    # Objects

    UserRef:
      type: object
      required: [id]
      properties:
        id: {$ref: '#/components/schemas/UserID'}
    User:
      description: A user as channels, members and messages show it.
      type: object
      required: [id, name, online]
      properties:
        id: {$ref: '#/components/schemas/UserID'}
        name: {type: string}
        online: {type: boolean}
        last_active:
          description: With presence - when the user was last online.
          $ref: '#/components/schemas/Time'
    FullUser:
      description: A user as the user endpoints show it.
      type: object
      required: [id, name, role, created_at, updated_at, online, banned]
      properties:
        id: {$ref: '#/components/schemas/UserID'}
        name: {type: string}
        role: {type: string}
        created_at: {$ref: '#/components/schemas/Time'}
        updated_at: {$ref: '#/components/schemas/Time'}
        online: {type: boolean}
        banned: {type: boolean}
        last_active: {$ref: '#/components/schemas/Time'}
    UsersByIDResponse:
      type: object
      required: [users, duration]
      properties:
        users:
          type: object
          additionalProperties: {$ref: '#/components/schemas/FullUser'}
        duration: {$ref: '#/components/schemas/Duration'}
    Member:
      type: object
      required: [user_id, user, channel_role, is_moderator, created_at, updated_at, banned, shadow_banned]
      properties:
        user_id: {$ref: '#/components/schemas/UserID'}
        user: {$ref: '#/components/schemas/User'}
        channel_role: {type: string, enum: [owner, channel_moderator, channel_member]}
        is_moderator: {type: boolean}
        created_at: {$ref: '#/components/schemas/Time'}
        updated_at: {$ref: '#/components/schemas/Time'}
        banned: {type: boolean}
        shadow_banned: {type: boolean}
    Channel:
      description: The built-in fields, beside the channel's custom fields.
      type: object
      required: [id, type, cid, created_at, updated_at, frozen, disabled, member_count, last_message_at]
      properties:
        id: {$ref: '#/components/schemas/ChannelIDPart'}
        type: {$ref: '#/components/schemas/ChannelTypeName'}
        cid: {$ref: '#/components/schemas/CID'}
        name: {type: string, description: Absent when the channel has no name.}
        created_by:
          description: The creator (absent for a DM).
          $ref: '#/components/schemas/User'
        created_at: {$ref: '#/components/schemas/Time'}
        updated_at: {$ref: '#/components/schemas/Time'}
        frozen: {type: boolean}
        disabled: {type: boolean}
        member_count: {type: integer, minimum: 0}
        last_message_at:
          anyOf:
            - $ref: '#/components/schemas/Time'
            - type: 'null'
    Attachment:
      type: object
      required: [asset_id, title, mime_type, file_size]
      properties:
        asset_id: {type: string}
        title: {type: string}
        mime_type: {type: string}
        file_size: {type: integer, minimum: 0}
    Message:
      type: object
      required: [
        id, cid, text, type, user, created_at, updated_at, deleted_at, attachments, latest_reactions,
        own_reactions, reaction_counts, reaction_scores, reply_count, mentioned_users, silent, pinned,
        shadowed]
      properties:
        id: {type: string, description: "The sender's own id if it gave one, else the engine's decimal id."}
        cid: {$ref: '#/components/schemas/CID'}
        text: {type: string}
        type: {type: string, enum: [regular, deleted]}
        user: {$ref: '#/components/schemas/User'}
        created_at: {$ref: '#/components/schemas/Time'}
        updated_at: {$ref: '#/components/schemas/Time'}
        deleted_at:
          anyOf:
            - $ref: '#/components/schemas/Time'
            - type: 'null'
        attachments:
          type: array
          items: {$ref: '#/components/schemas/Attachment'}
        latest_reactions:
          description: The last 10 users of each reaction type.
          type: array
          items:
            type: object
            required: [type, user_id, user, message_id, score]
            properties:
              type: {$ref: '#/components/schemas/ReactionType'}
              user_id: {$ref: '#/components/schemas/UserID'}
              user: {$ref: '#/components/schemas/User'}
              message_id: {type: string}
              score: {type: integer}
        own_reactions: {type: array}
        reaction_counts:
          type: object
          additionalProperties: {type: integer}
        reaction_scores:
          type: object
          additionalProperties: {type: integer}
        reply_count: {type: integer}
        mentioned_users: {type: array}
        silent: {type: boolean}
        pinned: {type: boolean}
        shadowed: {type: boolean}
    MessageResponse:
      type: object
      required: [message, duration]
      properties:
        message: {$ref: '#/components/schemas/Message'}
        duration: {$ref: '#/components/schemas/Duration'}
    ReadState:
      type: object
      required: [user, last_read, last_read_message_id]
      properties:
        user: {$ref: '#/components/schemas/User'}
        last_read: {$ref: '#/components/schemas/Time'}
        last_read_message_id: {type: string}
        unread_messages:
          description: The viewer's own entry only.
          type: integer
          minimum: 0
    ChannelState:
      type: object
      required: [channel, members, messages, pinned_messages, watchers, watcher_count, read]
      properties:
        channel: {$ref: '#/components/schemas/Channel'}
        members:
          type: array
          items: {$ref: '#/components/schemas/Member'}
        messages:
          type: array
          items: {$ref: '#/components/schemas/Message'}
        pinned_messages: {type: array}
        watchers:
          type: array
          items: {$ref: '#/components/schemas/User'}
        watcher_count: {type: integer, minimum: 0}
        read:
          type: array
          items: {$ref: '#/components/schemas/ReadState'}
        membership:
          description: The viewer's membership (when the viewer is a member).
          $ref: '#/components/schemas/Member'
        hidden:
          description: Whether the viewer hid the channel (when the viewer is a member).
          type: boolean
    ChannelStateResponse:
      allOf:
        - $ref: '#/components/schemas/ChannelState'
        - $ref: '#/components/schemas/WithDuration'
    ChannelAndMembersResponse:
      type: object
      required: [channel, members, duration]
      properties:
        channel: {$ref: '#/components/schemas/Channel'}
        members:
          type: array
          items: {$ref: '#/components/schemas/Member'}
        duration: {$ref: '#/components/schemas/Duration'}
    ChannelMute:
      type: object
      required: [user, channel, created_at, updated_at, expires]
      properties:
        user: {$ref: '#/components/schemas/User'}
        channel: {$ref: '#/components/schemas/Channel'}
        created_at: {$ref: '#/components/schemas/Time'}
        updated_at: {$ref: '#/components/schemas/Time'}
        expires:
          anyOf:
            - $ref: '#/components/schemas/Time'
            - type: 'null'
    Policy:
      type: object
      required: [name, action, priority, owner, resources, roles]
      properties:
        name: {type: string}
        action: {type: string, enum: [Allow, Deny]}
        priority: {type: integer, minimum: 0, maximum: 1000000}
        owner: {type: boolean}
        resources:
          type: array
          items: {type: string}
        roles:
          type: array
          items: {type: string}
    ChannelTypeSettings:
      type: object
      required: [
        name, typing_events, read_events, connect_events, custom_events, reactions, replies, quotes,
        search, mutes, uploads, url_enrichment, push_notifications, reminders, message_retention,
        max_message_length, automod, automod_behavior, commands, permissions, grants, created_at,
        updated_at]
      properties:
        name: {$ref: '#/components/schemas/ChannelTypeName'}
        typing_events: {type: boolean}
        read_events: {type: boolean}
        connect_events: {type: boolean}
        custom_events: {type: boolean}
        reactions: {type: boolean}
        replies: {type: boolean}
        quotes: {type: boolean}
        search: {type: boolean}
        mutes: {type: boolean}
        uploads: {type: boolean}
        url_enrichment: {type: boolean}
        push_notifications: {type: boolean}
        reminders: {type: boolean}
        message_retention: {type: string, description: '`infinite` or a number of days.'}
        max_message_length: {type: integer, minimum: 1, description: 'The v1 types have `limits.max_message_length`.'}
        automod: {type: string, enum: [disabled, simple, AI]}
        automod_behavior: {type: string, enum: [flag, block]}
        automod_thresholds: {type: object}
        blocklist: {type: string}
        blocklist_behavior: {type: string, enum: [flag, block]}
        commands: {type: array}
        permissions:
          type: array
          items: {$ref: '#/components/schemas/Policy'}
        grants:
          description: Permissions by channel role.
          type: object
          additionalProperties:
            type: array
            items: {type: string}
        created_at: {$ref: '#/components/schemas/Time'}
        updated_at: {$ref: '#/components/schemas/Time'}
    ChannelTypeWithCommandObjects:
      allOf:
        - $ref: '#/components/schemas/ChannelTypeSettings'
        - type: object
          properties:
            commands:
              type: array
              items:
                type: object
                required: [name, description, args, set]
                properties:
                  name: {type: string}
                  description: {type: string}
                  args: {type: string}
                  set: {type: string}
    ChannelTypeWithCommandNamesResponse:
      allOf:
        - $ref: '#/components/schemas/ChannelTypeSettings'
        - $ref: '#/components/schemas/WithDuration'
        - type: object
          properties:
            commands:
              description: The enabled commands (`all` expanded).
              type: array
              items: {type: string}
    Task:
      type: object
      required: [task_id, status, created_at, updated_at]
      properties:
        task_id: {type: string}
        status: {type: string, enum: [pending, running, completed, failed]}
        created_at: {$ref: '#/components/schemas/Time'}
        updated_at: {$ref: '#/components/schemas/Time'}
    Segment:
      type: object
      required: [id, name, description, type, filter, size, status, in_use, created_at, updated_at]
      properties:
        id: {type: string}
        name: {type: string}
        description: {type: string}
        type: {const: user}
        filter: {$ref: '#/components/schemas/FilterConditions'}
        size: {type: integer, minimum: 0, description: The users the filter matched when it was last set.}
        status: {const: ready}
        in_use: {type: boolean, description: A campaign that has not completed uses it.}
        created_at: {$ref: '#/components/schemas/Time'}
        updated_at: {$ref: '#/components/schemas/Time'}
    Campaign:
      type: object
      required: [
        id, name, description, text, segment_id, segment_ids, sender_id, channel_type, defaults,
        attachments, status, created_at, updated_at, users_targeted, messages_sent, failed,
        sent_messages, errored_messages, scheduled_for, scheduled_at, started_at, stopped_at,
        resumed_at, completed_at]
      properties:
        id: {type: string}
        name: {type: string}
        description: {type: string}
        text: {type: string}
        segment_id: {type: string}
        segment_ids:
          type: array
          items: {type: string}
        sender_id: {$ref: '#/components/schemas/UserID'}
        channel_type: {$ref: '#/components/schemas/ChannelTypeName'}
        defaults:
          type: object
          additionalProperties: {type: string}
        attachments:
          type: array
          items: {$ref: '#/components/schemas/Attachment'}
        status: {type: string, enum: [draft, scheduled, running, stopped, completed]}
        created_at: {$ref: '#/components/schemas/Time'}
        updated_at: {$ref: '#/components/schemas/Time'}
        users_targeted: {type: integer, minimum: 0}
        messages_sent: {type: integer, minimum: 0}
        failed: {type: integer, minimum: 0}
        sent_messages: {type: integer, minimum: 0}
        errored_messages: {type: integer, minimum: 0}
        scheduled_for: {$ref: '#/components/schemas/OptionalTime'}
        scheduled_at: {$ref: '#/components/schemas/OptionalTime'}
        started_at: {$ref: '#/components/schemas/OptionalTime'}
        stopped_at: {$ref: '#/components/schemas/OptionalTime'}
        resumed_at: {$ref: '#/components/schemas/OptionalTime'}
        completed_at: {$ref: '#/components/schemas/OptionalTime'}
        details:
          type: string
          description: Why a halted run stopped (its segment or sender is gone).
    OptionalTime:
      anyOf:
        - $ref: '#/components/schemas/Time'
        - type: 'null'
    ExportDocument:
      type: object
      required: [channels, exported_at]
      properties:
        channels:
          type: array
          items:
            type: object
            required: [channel, members, messages]
            properties:
              channel: {$ref: '#/components/schemas/Channel'}
              members:
                type: array
                items: {$ref: '#/components/schemas/Member'}
              messages:
                type: array
                items: {$ref: '#/components/schemas/Message'}
        users:
          description: With `export_users` - the members and senders.
          type: array
          items: {$ref: '#/components/schemas/User'}
        exported_at: {$ref: '#/components/schemas/Time'}

    # Requests

    ActingUser:
      description: The user a server call acts as (`user_id`, else `user.id`); a user token may only name itself.
      type: object
      properties:
        user_id: {$ref: '#/components/schemas/UserID'}
        user: {$ref: '#/components/schemas/UserRef'}
    MemberRef:
      description: 'A user id, or `{"user_id": ...}`, or `{"user": {"id": ...}}`.'
      anyOf:
        - $ref: '#/components/schemas/UserID'
        - type: object
          required: [user_id]
          properties:
            user_id: {$ref: '#/components/schemas/UserID'}
        - type: object
          required: [user]
          properties:
            user: {$ref: '#/components/schemas/UserRef'}
    MemberRefs:
      type: array
      maxItems: 100
      items: {$ref: '#/components/schemas/MemberRef'}
    ChannelData:
      description: The channel's name and members, who creates it, and custom fields (at most 5 KiB encoded).
      type: object
      properties:
        name: {type: string}
        members: {$ref: '#/components/schemas/MemberRefs'}
        created_by: {$ref: '#/components/schemas/UserRef'}
        created_by_id: {$ref: '#/components/schemas/UserID'}
    ChannelStateOptions:
      type: object
      properties:
        messages:
          description: The newest `limit` messages, or those before or after one (give at most one of the bounds).
          type: object
          properties:
            limit: {type: integer, minimum: 0, maximum: 300, default: 25}
            id_lt: {type: string}
            id_lte: {type: string}
            id_gt: {type: string}
            id_gte: {type: string}
        members:
          type: object
          properties:
            limit: {type: integer, minimum: 0, maximum: 100, default: 100}
            offset: {type: integer, minimum: 0, maximum: 10000, default: 0}
        watchers:
          type: object
          properties:
            limit: {type: integer, minimum: 0, maximum: 100, default: 100}
            offset: {type: integer, minimum: 0, maximum: 300, default: 0}
        presence: {type: boolean}
        state: {type: boolean}
        watch:
          description: Make the WebSocket `connection_id` watch the channel.
          type: boolean
        connection_id:
          description: Required with `watch` - from the socket's first `health.check`.
          type: string
    GetOrCreateRequest:
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - $ref: '#/components/schemas/ChannelStateOptions'
        - type: object
          properties:
            data: {$ref: '#/components/schemas/ChannelData'}
    CreateByMembersRequest:
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - $ref: '#/components/schemas/ChannelStateOptions'
        - type: object
          required: [data]
          properties:
            data:
              allOf:
                - $ref: '#/components/schemas/ChannelData'
                - type: object
                  required: [members]
                  properties:
                    members:
                      type: array
                      minItems: 1
    QueryChannelsRequest:
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          properties:
            filter_conditions: {$ref: '#/components/schemas/FilterConditions'}
            sort: {$ref: '#/components/schemas/Sort'}
            limit: {type: integer, minimum: 0, maximum: 30, default: 10}
            offset: {type: integer, minimum: 0, maximum: 10000, default: 0}
            message_limit: {type: integer, minimum: 0, maximum: 300, default: 25}
            member_limit: {type: integer, minimum: 0, maximum: 100, default: 100}
            presence: {type: boolean}
            state: {type: boolean}
            watch: {type: boolean}
            connection_id: {type: string}
    SendMessageRequest:
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          required: [message]
          properties:
            message:
              allOf:
                - $ref: '#/components/schemas/ActingUser'
                - type: object
                  properties:
                    id:
                      description: The client's own id for the message (makes the send idempotent).
                      $ref: '#/components/schemas/ClientMessageID'
                    text: {type: string}
    UpdateChannelRequest:
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          properties:
            data:
              description: Replaces the custom data; `name` (1-100 characters, not only white space) the name.
              type: object
              properties:
                name: {type: string, minLength: 1, maxLength: 100, pattern: '\S'}
            add_members: {$ref: '#/components/schemas/MemberRefs'}
            remove_members: {$ref: '#/components/schemas/MemberRefs'}
            add_moderators: {$ref: '#/components/schemas/MemberRefs'}
            demote_moderators: {$ref: '#/components/schemas/MemberRefs'}
    PartialUpdateChannelRequest:
      description: >-
        At least one of `set` and `unset` must change something; built-in fields cannot be set or
        unset, nor `name` unset.
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          properties:
            set:
              type: object
              properties:
                name: {type: string}
            unset:
              type: array
              maxItems: 100
              items: {type: string}
    SendEventRequest:
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          required: [event]
          properties:
            event:
              allOf:
                - $ref: '#/components/schemas/ActingUser'
                - type: object
                  required: [type]
                  properties:
                    type: {type: string, minLength: 1, maxLength: 64}
    UpdateMessageRequest:
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          required: [message]
          properties:
            message:
              allOf:
                - $ref: '#/components/schemas/ActingUser'
                - type: object
                  required: [text]
                  properties:
                    text: {type: string}
    PartialUpdateMessageRequest:
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          required: [set]
          properties:
            set:
              type: object
              required: [text]
              properties:
                text: {type: string}
            unset:
              description: Nothing can be unset yet (any entry is 400).
              type: array
              maxItems: 0
    AddReactionRequest:
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          required: [reaction]
          properties:
            reaction:
              allOf:
                - $ref: '#/components/schemas/ActingUser'
                - type: object
                  required: [type]
                  properties:
                    type: {$ref: '#/components/schemas/ReactionType'}
    UpsertUsersRequest:
      type: object
      required: [users]
      properties:
        users:
          description: 1-100 users by id; each key must be a valid user id equal to its `id` (if given).
          type: object
          minProperties: 1
          maxProperties: 100
          propertyNames: {$ref: '#/components/schemas/UserID'}
          additionalProperties:
            type: object
            properties:
              id: {$ref: '#/components/schemas/UserID'}
              name: {type: string, minLength: 1, maxLength: 100}
    PartialUpdateUsersRequest:
      type: object
      required: [users]
      properties:
        users:
          type: array
          minItems: 1
          maxItems: 100
          items:
            type: object
            required: [id]
            properties:
              id: {$ref: '#/components/schemas/UserID'}
              set:
                description: Only `name` can be set so far.
                type: object
                properties:
                  name: {type: string, minLength: 1, maxLength: 100}
              unset:
                description: Nothing can be unset yet (any entry is 400).
                type: array
                maxItems: 0
    QueryUsersPayload:
      type: object
      required: [filter_conditions]
      properties:
        filter_conditions: {$ref: '#/components/schemas/FilterConditions'}
        sort: {$ref: '#/components/schemas/Sort'}
        limit: {type: integer, minimum: 0, maximum: 100, default: 30}
        offset: {type: integer, minimum: 0, maximum: 1000, default: 0}
    QueryMembersPayload:
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          required: [type, id]
          properties:
            type: {$ref: '#/components/schemas/ChannelTypeName'}
            id: {$ref: '#/components/schemas/ChannelIDPart'}
            filter_conditions: {$ref: '#/components/schemas/FilterConditions'}
            sort: {$ref: '#/components/schemas/Sort'}
            limit: {type: integer, minimum: 0, maximum: 300, default: 100}
            offset: {type: integer, minimum: 0, maximum: 10000, default: 0}
    SearchPayload:
      description: |
        The words are `query`, or `message_filter_conditions.text.$q` (at least one word). Give
        `offset` or the `next` of an earlier page, not both; `offset + limit` is at most 1,000.
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          required: [filter_conditions]
          properties:
            filter_conditions: {$ref: '#/components/schemas/FilterConditions'}
            query: {type: string}
            message_filter_conditions: {$ref: '#/components/schemas/FilterConditions'}
            sort: {$ref: '#/components/schemas/Sort'}
            limit: {type: integer, minimum: 1, maximum: 100, default: 20}
            offset: {type: integer, minimum: 0, maximum: 1000, default: 0}
            next: {type: string}
    MuteRequest:
      description: Needs `channel_cids` and/or `channel_cid`.
      allOf:
        - $ref: '#/components/schemas/ActingUser'
        - type: object
          properties:
            channel_cids:
              type: array
              maxItems: 25
              items: {$ref: '#/components/schemas/CID'}
            channel_cid: {$ref: '#/components/schemas/CID'}
            expiration:
              description: Milliseconds until the mute ends (mute only; default never).
              type: integer
              minimum: 1
              maximum: 315360000000
    ChannelTypeFields:
      type: object
      properties:
        typing_events: {type: boolean}
        read_events: {type: boolean}
        connect_events: {type: boolean}
        custom_events: {type: boolean}
        reactions: {type: boolean}
        replies: {type: boolean}
        quotes: {type: boolean}
        search: {type: boolean}
        mutes: {type: boolean}
        uploads: {type: boolean}
        url_enrichment: {type: boolean}
        push_notifications: {type: boolean}
        reminders: {type: boolean}
        message_retention:
          description: '`infinite` or a number of days (1-36500), as a string or a number.'
          anyOf:
            - {type: string, pattern: '^(infinite|[0-9]{1,5})$'}
            - {type: integer, minimum: 1, maximum: 36500}
        max_message_length: {type: integer, minimum: 1, maximum: 20000}
        automod: {type: string, enum: [disabled, simple, AI]}
        automod_behavior: {type: string, enum: [flag, block]}
        automod_thresholds: {type: object}
        blocklist:
          description: The name of a configured word list (`chat.blocklists`).
          type: string
          minLength: 1
          maxLength: 64
        blocklist_behavior: {type: string, enum: [flag, block]}
        commands:
          description: Command names (`all` stands for every built-in command).
          type: array
          maxItems: 50
          items: {type: string, minLength: 1, maxLength: 64}
        grants:
          description: Permissions by channel role (at most 50 roles of 100 permissions).
          type: object
          maxProperties: 50
          additionalProperties:
            type: array
            maxItems: 100
            items: {type: string}
        permissions:
          type: array
          maxItems: 100
          items:
            type: object
            required: [name, priority]
            properties:
              name: {type: string}
              priority: {type: integer, minimum: 0, maximum: 1000000}
              action: {type: string, enum: [Allow, Deny], default: Allow}
              owner: {type: boolean}
              resources:
                type: array
                maxItems: 100
                items: {type: string}
              roles:
                type: array
                maxItems: 100
                items: {type: string}
    SegmentFields:
      type: object
      properties:
        name: {type: string, minLength: 1, maxLength: 128}
        type: {const: user}
        filter:
          description: >-
            A filter over `id`, `name` and `created_at`; naming users by `id` (up to 10,000) makes an
            explicit list.
          $ref: '#/components/schemas/FilterConditions'
        description: {type: string, maxLength: 1024}
    NewSegmentFields:
      allOf:
        - $ref: '#/components/schemas/SegmentFields'
        - type: object
          required: [name, type, filter]
          properties:
            id:
              description: Default a new UUID.
              type: string
              pattern: '^[A-Za-z0-9_-]{1,64}$'
    CampaignFields:
      type: object
      properties:
        name: {type: string, minLength: 1, maxLength: 128}
        description: {type: string, maxLength: 1024}
        text:
          description: >-
            The message, with `{{ user.id }}`, `{{ user.name }}`, `{{ sender.id }}`, `{{ sender.name
            }}` filled in.
          type: string
          minLength: 1
          maxLength: 5000
        message_template:
          description: The text, as some clients send it.
          type: object
          properties:
            text: {type: string, minLength: 1, maxLength: 5000}
        segment_id: {type: string}
        segment_ids:
          type: array
          minItems: 1
          maxItems: 1
          items: {type: string}
        sender_id: {$ref: '#/components/schemas/UserID'}
        channel_type:
          description: Default `messaging`; must exist and not be a v1 type.
          $ref: '#/components/schemas/ChannelTypeName'
        defaults:
          type: object
          maxProperties: 20
          additionalProperties: {type: string, maxLength: 256}
        attachments:
          type: array
          maxItems: 10
          items:
            type: object
            required: [asset_id]
            properties:
              asset_id: {$ref: '#/components/schemas/ReactionType'}
              title: {type: string}
              mime_type: {type: string}
              file_size: {type: integer, minimum: 0, maximum: 2147483647}
    NewCampaignFields:
      allOf:
        - $ref: '#/components/schemas/CampaignFields'
        - type: object
          required: [name, sender_id]
          properties:
            id:
              description: Default a new UUID.
              type: string
              pattern: '^[A-Za-z0-9_-]{1,64}$'
        - anyOf:
            - {type: object, required: [text]}
            - {type: object, required: [message_template]}
        - anyOf:
            - {type: object, required: [segment_id]}
            - {type: object, required: [segment_ids]}
    ScheduleCampaignRequest:
      type: object
      properties:
        scheduled_for:
          description: Unix seconds or RFC 3339; absent, 0 or past - now.
          anyOf:
            - {type: integer, minimum: 0, maximum: 253402300799}
            - {type: string, format: date-time}
            - type: 'null'
    ExportChannelsRequest:
      type: object
      required: [channels]
      properties:
        channels:
          type: array
          minItems: 1
          maxItems: 25
          items:
            description: A `cid`, or `type` and `id`, with an optional time range of messages.
            type: object
            properties:
              cid: {$ref: '#/components/schemas/CID'}
              type: {$ref: '#/components/schemas/ChannelTypeName'}
              id: {$ref: '#/components/schemas/ChannelIDPart'}
              messages_since: {type: string, format: date-time}
              messages_until: {type: string, format: date-time}
        clear_deleted_message_text: {type: boolean}
        include_truncated_messages: {type: boolean, description: Accepted; no effect.}
        export_users: {type: boolean}
        version: {type: string, description: Accepted; no effect.}
"""#
}
