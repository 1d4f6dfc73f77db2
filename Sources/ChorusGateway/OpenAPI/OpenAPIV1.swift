// The OpenAPI 3.1 description of the v1 API and /healthz, /readyz, /metrics, served at GET /openapi/v1.yaml (docs/operations.md).
// Edit the YAML here; the tests validate it and run schemathesis against a live node.
extension OpenAPIDocuments {
    static let v1 = #"""
openapi: 3.1.0
info:
  title: Chorus v1 API
  version: "1"
  description: |
    The v1 client API of a Chorus node, as the node implements it (docs/api.md).

    - JSON request and response bodies, UTF-8, snake_case keys; unknown request keys are ignored
      and the request `Content-Type` is not checked. Response bodies have sorted keys.
    - Every response, errors included, carries `X-Request-Id` (the caller's own, if it is 1-128
      visible ASCII characters, else a new one).
    - Channel and message ids are 64-bit snowflakes written as decimal strings; request bodies
      also accept them as JSON integers. User ids are 1-64 characters of `[A-Za-z0-9_.@-]`.
      Asset ids are 1-128 visible ASCII characters without `/ ? # %` (a string or a non-negative
      integer in requests, always a string in responses). Timestamps are whole Unix seconds.
    - Every `/v1` route needs `Authorization: Bearer <JWT>` (HS256). A token with `user_id` is a
      user token (the user is created on first use); one without is a server token, which only
      the admin routes and Get User accept (user routes answer it 401 `AUTH_INVALID_TOKEN`).
      Each user may make 50 requests a second with bursts of 200 (configurable; server tokens are
      not limited); beyond that 429 `RATE_LIMITED` with `Retry-After`.
    - Errors are `{"error": {"code", "message"}}` with the code's HTTP status. A path that matches
      no route, or a known path with another method, is 404 `NOT_FOUND`; a malformed id in the
      path is 400 `INVALID_REQUEST`. 500 `INTERNAL` is a bug, never expected.
    - Realtime events come over the WebSocket `GET /v1/ws` (docs/realtime.md), not described
      here; a plain GET of it, without the upgrade, answers 400 `INVALID_REQUEST`.
tags:
  - name: Operations
  - name: Channels
  - name: Members
  - name: Messages
  - name: Users
  - name: Blocks
  - name: Admin
security:
  - bearerAuth: []
paths:
  /healthz:
    get:
      operationId: getHealth
      summary: Liveness - 200 once the node serves requests
      tags: [Operations]
      security: []
      responses:
        "200":
          description: The node serves requests.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema:
                type: object
                required: [status]
                properties:
                  status: {type: string, const: ok}
        default: {$ref: '#/components/responses/Error'}
  /readyz:
    get:
      operationId: getReadiness
      summary: Readiness - whether the node should get traffic
      tags: [Operations]
      security: []
      responses:
        "200":
          description: Ready.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Readiness'}
        "503":
          description: Not ready (stopping, or off the ring), with the reasons.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Readiness'}
        default: {$ref: '#/components/responses/Error'}
  /metrics:
    get:
      operationId: getMetrics
      summary: Prometheus metrics in the text exposition format
      tags: [Operations]
      security: []
      responses:
        "200":
          description: The node's metrics (names in docs/operations.md, "Metrics").
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            text/plain:
              schema: {type: string}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels:
    get:
      operationId: listChannels
      summary: List the caller's channels, most recently active first
      tags: [Channels]
      parameters:
        - name: include_hidden
          in: query
          description: Also list hidden channels (`true`/`1`, `false`/`0`; default false).
          schema: {type: string, enum: ["true", "false", "1", "0"]}
      responses:
        "200":
          description: The caller's channels.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema:
                type: array
                items: {$ref: '#/components/schemas/ChannelListItem'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    post:
      operationId: createChannel
      summary: Create a group or room, or open the DM with a user
      tags: [Channels]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/CreateChannelRequest'}
      responses:
        "200":
          description: The DM between the two users already existed.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Channel'}
        "201":
          description: The new channel (the caller is its owner; both users are members of a DM).
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Channel'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}:
    parameters:
      - $ref: '#/components/parameters/channelID'
    get:
      operationId: getChannel
      summary: Get a channel (members only)
      tags: [Channels]
      responses:
        "200":
          description: The channel.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Channel'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    put:
      operationId: updateChannel
      summary: Rename a group or room (owner or admin)
      tags: [Channels]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/UpdateChannelRequest'}
      responses:
        "200":
          description: The renamed channel.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Channel'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/hide:
    parameters:
      - $ref: '#/components/parameters/channelID'
    post:
      operationId: hideChannel
      summary: Hide a channel from the caller's list until its next message
      tags: [Channels]
      responses:
        "204": {$ref: '#/components/responses/NoContent'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/show:
    parameters:
      - $ref: '#/components/parameters/channelID'
    post:
      operationId: showChannel
      summary: Show a hidden channel in the caller's list again
      tags: [Channels]
      responses:
        "204": {$ref: '#/components/responses/NoContent'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/members:
    parameters:
      - $ref: '#/components/parameters/channelID'
    get:
      operationId: listMembers
      summary: List a channel's members in join order
      tags: [Members]
      responses:
        "200":
          description: The members, with their current display names.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema:
                type: array
                items: {$ref: '#/components/schemas/Member'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    post:
      operationId: addMember
      summary: Add a member (owner or admin), or join a room yourself
      tags: [Members]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/AddMemberRequest'}
      responses:
        "201":
          description: The new member.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Member'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "409": {$ref: '#/components/responses/Conflict'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/members/{userID}:
    parameters:
      - $ref: '#/components/parameters/channelID'
      - $ref: '#/components/parameters/userID'
    delete:
      operationId: removeMember
      summary: Remove a member (owner or admin), or leave the channel
      tags: [Members]
      responses:
        "204": {$ref: '#/components/responses/NoContent'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/read:
    parameters:
      - $ref: '#/components/parameters/channelID'
    post:
      operationId: markRead
      summary: Set the caller's read cursor to a message of the channel
      tags: [Channels]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/MarkReadRequest'}
      responses:
        "200":
          description: The read cursor.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ReadCursor'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/typing:
    parameters:
      - $ref: '#/components/parameters/channelID'
    post:
      operationId: startTyping
      summary: Mark the caller as typing for the typing TTL (5 s by default)
      tags: [Channels]
      responses:
        "204": {$ref: '#/components/responses/NoContent'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    get:
      operationId: listTypingUsers
      summary: List the users typing now, the caller included
      tags: [Channels]
      responses:
        "200":
          description: The users typing, in the order they started.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema:
                type: object
                required: [typing_users]
                properties:
                  typing_users:
                    type: array
                    items: {$ref: '#/components/schemas/UserID'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/messages:
    parameters:
      - $ref: '#/components/parameters/channelID'
    get:
      operationId: listMessages
      summary: A page of a channel's messages, oldest first
      tags: [Messages]
      description: |
        Without a cursor the newest `limit` messages; with `before` the newest `limit` older than
        it; with `after` the oldest `limit` newer than it (`before` and `after` together: 400).
        Deleted messages stay as tombstones.
      parameters:
        - name: limit
          in: query
          schema: {type: integer, minimum: 1, maximum: 100, default: 50}
        - name: before
          in: query
          description: A message id (need not exist); paging is by id order.
          schema: {$ref: '#/components/schemas/SnowflakeID'}
        - name: after
          in: query
          description: A message id (need not exist); paging is by id order.
          schema: {$ref: '#/components/schemas/SnowflakeID'}
      responses:
        "200":
          description: The page.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/MessagePage'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    post:
      operationId: sendMessage
      summary: Send a message (idempotent with a client message id)
      tags: [Messages]
      description: |
        A send that names its client message id (`client_message_id`, or the `Idempotency-Key`
        header; equal if both are given) and repeats one the sender already used in this channel
        posts nothing and answers 201 with the original message and `Idempotent-Replayed: true`.
      parameters:
        - name: Idempotency-Key
          in: header
          description: The send's client message id (as `client_message_id`).
          schema: {$ref: '#/components/schemas/ClientMessageID'}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SendMessageRequest'}
      responses:
        "201":
          description: The message (the original one for a repeated client message id).
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
            Idempotent-Replayed: {$ref: '#/components/headers/Idempotent-Replayed'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Message'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/messages/{messageID}:
    parameters:
      - $ref: '#/components/parameters/channelID'
      - $ref: '#/components/parameters/messageID'
    put:
      operationId: editMessage
      summary: Edit a message's body (its author only)
      tags: [Messages]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/EditMessageRequest'}
      responses:
        "200":
          description: The edited message, with `edited_at` set.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Message'}
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
      summary: Delete a message (author, owner or admin; idempotent)
      tags: [Messages]
      responses:
        "204": {$ref: '#/components/responses/NoContent'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/messages/{messageID}/reactions:
    parameters:
      - $ref: '#/components/parameters/channelID'
      - $ref: '#/components/parameters/messageID'
    post:
      operationId: addReaction
      summary: React to a message with an emote
      tags: [Messages]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/AddReactionRequest'}
      responses:
        "201":
          description: The reaction was added.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema:
                type: object
                required: [message]
                properties:
                  message: {type: string, const: Reaction added}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "409": {$ref: '#/components/responses/Conflict'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/messages/{messageID}/reactions/{emoteID}:
    parameters:
      - $ref: '#/components/parameters/channelID'
      - $ref: '#/components/parameters/messageID'
      - name: emoteID
        in: path
        required: true
        description: The emote's asset id.
        schema: {$ref: '#/components/schemas/AssetID'}
    delete:
      operationId: removeReaction
      summary: Remove the caller's own reaction with an emote
      tags: [Messages]
      responses:
        "204": {$ref: '#/components/responses/NoContent'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/channels/{channelID}/messages/{messageID}/attachments/{attachmentID}/url:
    parameters:
      - $ref: '#/components/parameters/channelID'
      - $ref: '#/components/parameters/messageID'
      - name: attachmentID
        in: path
        required: true
        description: The attachment's `asset_id`.
        schema: {$ref: '#/components/schemas/AssetID'}
    get:
      operationId: getAttachmentURL
      summary: A signed, expiring CDN URL of an attachment
      tags: [Messages]
      parameters:
        - name: size
          in: query
          schema: {type: string, enum: [full, "1600", "512", "256", "128"], default: full}
      responses:
        "200":
          description: The signed URL and when it expires.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/AttachmentURL'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/users/{userID}:
    parameters:
      - $ref: '#/components/parameters/userID'
    put:
      operationId: upsertUser
      summary: Create or rename a user (server token)
      tags: [Users]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/UpsertUserRequest'}
      responses:
        "200":
          description: The user.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/User'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    get:
      operationId: getUser
      summary: Get a user's profile (any token)
      tags: [Users]
      responses:
        "200":
          description: The user.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/User'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/blocks:
    get:
      operationId: listBlocks
      summary: The users the caller blocked, in the order blocked
      tags: [Blocks]
      responses:
        "200":
          description: The blocked users.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/BlockList'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}
    post:
      operationId: blockUser
      summary: Block a user (idempotent)
      tags: [Blocks]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/BlockRequest'}
      responses:
        "201":
          description: The blocked users after the block.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/BlockList'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/blocks/{userID}:
    parameters:
      - $ref: '#/components/parameters/userID'
    delete:
      operationId: unblockUser
      summary: Unblock a user (204 also when there was no block)
      tags: [Blocks]
      responses:
        "204": {$ref: '#/components/responses/NoContent'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "404": {$ref: '#/components/responses/NotFound'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/admin/cluster:
    get:
      operationId: getClusterStatus
      summary: The cluster as the answering node sees it (server token)
      tags: [Admin]
      responses:
        "200":
          description: The cluster's nodes, ring epoch and metadata log.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ClusterStatus'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/admin/cluster/stream:
    get:
      operationId: streamClusterStatus
      summary: The cluster status as server-sent events (server token)
      tags: [Admin]
      description: |
        A `text/event-stream` of `event: cluster` frames whose `data` is the body of
        `GET /v1/admin/cluster`, the first at once and then every `interval_ms`, until the client
        goes away or the node stops: the response does not end by itself.
      parameters:
        - name: interval_ms
          in: query
          schema: {type: integer, minimum: 100, maximum: 60000, default: 1000}
      responses:
        "200":
          description: The event stream (`Cache-Control` `no-store`).
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            text/event-stream:
              schema:
                type: string
                description: '`event: cluster` / `data: <ClusterStatus JSON>` frames, each ended by a blank line.'
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

  /v1/admin/faults:
    post:
      operationId: setFaults
      summary: Cut this node off from its peers or heal it (server token, drills only)
      tags: [Admin]
      description: |
        Only with `cluster.fault_injection: true`; otherwise 404 `NOT_FOUND`. The body is at most
        1,024 bytes.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Faults'}
      responses:
        "200":
          description: The node's isolation now.
          headers:
            X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Faults'}
        "400": {$ref: '#/components/responses/BadRequest'}
        "401": {$ref: '#/components/responses/Unauthorized'}
        "403": {$ref: '#/components/responses/Forbidden'}
        "404": {$ref: '#/components/responses/NotFound'}
        "413": {$ref: '#/components/responses/PayloadTooLarge'}
        "429": {$ref: '#/components/responses/TooManyRequests'}
        "503": {$ref: '#/components/responses/ServiceUnavailable'}
        default: {$ref: '#/components/responses/Error'}

components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
      bearerFormat: JWT
      description: |
        An HS256 JWT signed with the node's secret (`chorus token --user alice`,
        `chorus token --server`). Claims `user_id` (absent in a server token), optional `name`,
        `exp`, `nbf`, `iat` (checked with 30 s of leeway).

  headers:
    X-Request-Id:
      description: The request's id (the caller's own `X-Request-Id` if it is 1-128 visible ASCII characters).
      required: true
      schema: {type: string, minLength: 1}
    Retry-After:
      description: Seconds to wait before retrying.
      schema: {type: integer, minimum: 1}
    Idempotent-Replayed:
      description: '`true` when the send repeated an earlier client message id (nothing new was posted).'
      schema: {type: string, enum: ["true"]}

  parameters:
    channelID:
      name: channelID
      in: path
      required: true
      description: A channel id (decimal).
      schema: {$ref: '#/components/schemas/SnowflakeID'}
    messageID:
      name: messageID
      in: path
      required: true
      description: A message id (decimal).
      schema: {$ref: '#/components/schemas/SnowflakeID'}
    userID:
      name: userID
      in: path
      required: true
      schema: {$ref: '#/components/schemas/UserID'}

  responses:
    NoContent:
      description: Done.
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
    BadRequest:
      description: |
        `INVALID_REQUEST` (malformed JSON, a field of the wrong type, a bad query parameter or path
        id), `CHAT_EMPTY_MESSAGE`, `CHAT_MESSAGE_TOO_LONG`, `CHAT_MESSAGE_BLOCKED`, `CHAT_CANNOT_DM_SELF`.
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    Unauthorized:
      description: >-
        `AUTH_MISSING_TOKEN`, `AUTH_INVALID_TOKEN` (also a server token on a user route),
        `AUTH_TOKEN_EXPIRED`.
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    Forbidden:
      description: |
        `CHAT_NOT_MEMBER`, `CHAT_NOT_ADMIN`, `CHAT_NOT_MESSAGE_AUTHOR`, `CHAT_CANNOT_MODIFY_DM`,
        `CHAT_DM_BLOCKED_USER`, `CHAT_CANNOT_REMOVE_OWNER`, `AUTH_SERVER_TOKEN_REQUIRED`,
        `CHAT_DISABLED_BY_CHANNEL_TYPE`, `CHAT_PERMISSION_DENIED`.
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    NotFound:
      description: >-
        `CHAT_CHANNEL_NOT_FOUND`, `CHAT_MESSAGE_NOT_FOUND`, `CHAT_USER_NOT_FOUND`,
        `CHAT_REACTION_NOT_FOUND`, `NOT_FOUND`.
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    Conflict:
      description: '`CHAT_REACTION_EXISTS`, `CHAT_ALREADY_MEMBER`, `CHAT_CHANNEL_EXISTS`.'
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    PayloadTooLarge:
      description: '`PAYLOAD_TOO_LARGE`: the body is over `limits.max_body_bytes`.'
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    TooManyRequests:
      description: '`RATE_LIMITED`: the user''s request budget is spent.'
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
        Retry-After: {$ref: '#/components/headers/Retry-After'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    ServiceUnavailable:
      description: >-
        `CLUSTER_UNAVAILABLE`: the channel's or user's node cannot be reached, or this node cannot
        store changes now.
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
        Retry-After: {$ref: '#/components/headers/Retry-After'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
    Error:
      description: Any other error, in the same shape (500 `INTERNAL` is a bug).
      headers:
        X-Request-Id: {$ref: '#/components/headers/X-Request-Id'}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}

  schemas:
    SnowflakeID:
      description: A channel or message id, a 64-bit unsigned integer in decimal.
      type: string
      pattern: '^[0-9]{1,20}$'
    SnowflakeIDInput:
      description: A channel or message id, as a decimal string or a JSON integer.
      anyOf:
        - $ref: '#/components/schemas/SnowflakeID'
        - {type: integer, minimum: 0, maximum: 18446744073709551615}
    UserID:
      type: string
      pattern: '^[A-Za-z0-9_.@-]{1,64}$'
    AssetID:
      description: An uploaded asset's id, 1-128 visible ASCII characters without `/ ? # %`.
      type: string
      pattern: '^[!"$&-.0->@-~]{1,128}$'
    AssetIDInput:
      description: An asset id, as a string or a non-negative JSON integer.
      anyOf:
        - $ref: '#/components/schemas/AssetID'
        - {type: integer, minimum: 0, maximum: 18446744073709551615}
    UnixSeconds:
      type: integer
      description: Whole seconds since 1970-01-01T00:00:00Z.
    ClientMessageID:
      type: string
      pattern: '^[A-Za-z0-9_.:-]{1,64}$'

    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code:
              type: string
              description: A stable error code (docs/api.md, "Errors").
              examples: [CHAT_NOT_MEMBER]
            message: {type: string}
    Readiness:
      type: object
      required: [status]
      properties:
        status: {type: string, enum: [ready, not_ready]}
        reasons:
          description: Why the node is not ready (only when it is not).
          type: array
          items: {type: string}

    Channel:
      type: object
      required: [id, type, name, owner_id, created_at]
      properties:
        id: {$ref: '#/components/schemas/SnowflakeID'}
        type: {type: string, enum: [dm, group, room]}
        name: {type: string, description: 'Empty for a DM.'}
        owner_id:
          description: The owner; null for a DM.
          anyOf:
            - $ref: '#/components/schemas/UserID'
            - type: 'null'
        created_at: {$ref: '#/components/schemas/UnixSeconds'}
    ChannelListItem:
      description: A channel of List Channels; DMs also carry the other user.
      allOf:
        - $ref: '#/components/schemas/Channel'
        - type: object
          required: [unread_count, hidden, last_activity_at]
          properties:
            unread_count: {type: integer, minimum: 0}
            hidden: {type: boolean}
            last_activity_at: {$ref: '#/components/schemas/UnixSeconds'}
            other_user_id: {$ref: '#/components/schemas/UserID'}
            other_user_name: {type: string}
    Member:
      type: object
      required: [user_id, display_name, role, joined_at]
      properties:
        user_id: {$ref: '#/components/schemas/UserID'}
        display_name: {type: string}
        role: {type: string, enum: [owner, admin, member]}
        joined_at: {$ref: '#/components/schemas/UnixSeconds'}
    Attachment:
      type: object
      required: [asset_id, filename, content_type, size_bytes]
      properties:
        asset_id: {$ref: '#/components/schemas/AssetID'}
        filename: {type: string}
        content_type: {type: string}
        size_bytes: {type: integer, minimum: 0}
    InlineEmote:
      type: object
      required: [shortcode, asset_id, start_index, end_index]
      properties:
        shortcode: {type: string}
        asset_id: {$ref: '#/components/schemas/AssetID'}
        start_index: {type: integer, minimum: 0}
        end_index: {type: integer, minimum: 1}
    Reaction:
      description: The reactions with one emote, users in the order they reacted.
      type: object
      required: [emote_asset_id, count, user_ids]
      properties:
        emote_asset_id: {$ref: '#/components/schemas/AssetID'}
        count: {type: integer, minimum: 1}
        user_ids:
          type: array
          items: {$ref: '#/components/schemas/UserID'}
    Message:
      type: object
      required: [
        id, channel_id, seq, sender_id, sender_name, body, attachments, inline_emotes, created_at,
        edited_at, deleted, reactions]
      properties:
        id: {$ref: '#/components/schemas/SnowflakeID'}
        channel_id: {$ref: '#/components/schemas/SnowflakeID'}
        seq:
          type: integer
          minimum: 0
          description: The position of the message's record in the channel log (increasing, with gaps).
        sender_id: {$ref: '#/components/schemas/UserID'}
        sender_name: {type: string, description: "The sender's display name when it was sent."}
        body: {type: string, description: 'Empty once deleted.'}
        attachments:
          type: array
          items: {$ref: '#/components/schemas/Attachment'}
        inline_emotes:
          type: array
          items: {$ref: '#/components/schemas/InlineEmote'}
        created_at: {$ref: '#/components/schemas/UnixSeconds'}
        edited_at:
          description: Null until the message is edited (or deleted).
          type: [integer, 'null']
        deleted: {type: boolean}
        reactions:
          type: array
          items: {$ref: '#/components/schemas/Reaction'}
    MessagePage:
      type: object
      required: [messages, has_more]
      properties:
        messages:
          type: array
          items: {$ref: '#/components/schemas/Message'}
        has_more:
          type: boolean
          description: More messages exist in the paging direction.
    ReadCursor:
      type: object
      required: [channel_id, last_read_message_id, updated_at]
      properties:
        channel_id: {$ref: '#/components/schemas/SnowflakeID'}
        last_read_message_id: {$ref: '#/components/schemas/SnowflakeID'}
        updated_at: {$ref: '#/components/schemas/UnixSeconds'}
    User:
      type: object
      required: [id, display_name, created_at]
      properties:
        id: {$ref: '#/components/schemas/UserID'}
        display_name: {type: string}
        created_at: {$ref: '#/components/schemas/UnixSeconds'}
    BlockList:
      type: object
      required: [blocked_user_ids]
      properties:
        blocked_user_ids:
          type: array
          items: {$ref: '#/components/schemas/UserID'}
    AttachmentURL:
      type: object
      required: [url, expires_at]
      properties:
        url:
          type: string
          description: '`{cdn_base_url}/{asset_id}/{size}?expires={expires_at}&signature={hex HMAC-SHA256}`'
        expires_at: {$ref: '#/components/schemas/UnixSeconds'}
    Faults:
      type: object
      required: [isolated]
      properties:
        isolated: {type: boolean}
    ClusterStatus:
      type: object
      required: [node, ring_epoch, time_ms, nodes]
      properties:
        node: {type: string, description: "The answering node's name."}
        ring_epoch: {type: integer, minimum: 0}
        time_ms: {type: integer, description: "The answering node's wall clock, in Unix milliseconds."}
        nodes:
          type: array
          items: {$ref: '#/components/schemas/ClusterNode'}
        metadata:
          description: The metadata log as the answering node sees it (clusters only).
          type: object
          required: [term, leader, role, commit_index]
          properties:
            term: {type: integer, minimum: 0}
            leader: {type: [string, 'null']}
            role: {type: string, enum: [leader, follower, candidate]}
            commit_index: {type: integer, minimum: 0}
    ClusterNode:
      type: object
      required: [name, status, self, on_ring, ring_share, channel_actors, user_actors]
      properties:
        name: {type: string}
        status: {type: string, enum: [up, suspect, down]}
        self: {type: boolean}
        on_ring: {type: boolean}
        ring_share:
          description: "Its share of the answering node's ring, to 4 decimals (0 when off the ring)."
          type: number
          minimum: 0
          maximum: 1
        counters:
          description: |
            Its counters (`messages` and `deliveries` since it started, `sessions` open now,
            `wal_records` appended); absent when the node did not answer.
          type: object
          additionalProperties: {type: integer}
        channel_actors:
          description: Null when the node did not answer in time.
          type: [integer, 'null']
        user_actors:
          description: Null when the node did not answer in time.
          type: [integer, 'null']
        replication:
          description: Its replicas (with `cluster.replication_factor` above 1, when it answered).
          type: object
          required: [
            primaries, backups, recovering, newest_term, newest_term_epoch, lagging, lag_records,
            max_lag_records]
          properties:
            primaries: {$ref: '#/components/schemas/ActorCounts'}
            backups: {$ref: '#/components/schemas/ActorCounts'}
            recovering: {type: integer, minimum: 0}
            newest_term: {type: integer, minimum: 0}
            newest_term_epoch: {type: integer, minimum: 0}
            lagging: {type: integer, minimum: 0}
            lag_records: {type: integer, minimum: 0}
            max_lag_records: {type: integer, minimum: 0}
    ActorCounts:
      type: object
      required: [channels, users]
      properties:
        channels: {type: integer, minimum: 0}
        users: {type: integer, minimum: 0}

    CreateChannelRequest:
      description: A DM needs `user_id`; a group or room needs `name`.
      oneOf:
        - type: object
          title: DM
          required: [type, user_id]
          properties:
            type: {const: dm}
            user_id: {$ref: '#/components/schemas/UserID'}
        - type: object
          title: Group or room
          required: [type, name]
          properties:
            type: {type: string, enum: [group, room]}
            name: {$ref: '#/components/schemas/ChannelName'}
    ChannelName:
      description: 1-100 characters (`limits.max_channel_name_length`), not only white space.
      type: string
      minLength: 1
      maxLength: 100
      pattern: '\S'
    UpdateChannelRequest:
      type: object
      required: [name]
      properties:
        name: {$ref: '#/components/schemas/ChannelName'}
    AddMemberRequest:
      type: object
      required: [user_id]
      properties:
        user_id: {$ref: '#/components/schemas/UserID'}
        role:
          description: Default `member`; `owner` is refused.
          type: [string, 'null']
          enum: [member, admin, null]
    AttachmentInput:
      type: object
      required: [asset_id]
      properties:
        asset_id: {$ref: '#/components/schemas/AssetIDInput'}
        filename: {type: [string, 'null'], maxLength: 255, description: 'Default "".'}
        content_type: {type: [string, 'null'], maxLength: 255, description: 'Default application/octet-stream.'}
        size_bytes: {type: [integer, 'null'], minimum: 0, maximum: 9223372036854775807, description: 'Default 0.'}
    InlineEmoteInput:
      description: Needs 0 <= start_index < end_index <= the body's length in characters.
      type: object
      required: [shortcode, asset_id, start_index, end_index]
      properties:
        shortcode: {type: string, maxLength: 255}
        asset_id: {$ref: '#/components/schemas/AssetIDInput'}
        start_index: {type: integer, minimum: 0}
        end_index: {type: integer, minimum: 1}
    SendMessageRequest:
      description: |
        A body that is empty or only white space needs an attachment; the body is at most 4,000
        characters (`limits.max_message_length`, or the channel type's `max_message_length`).
      type: object
      properties:
        body: {type: [string, 'null']}
        attachments:
          type: [array, 'null']
          maxItems: 10
          items: {$ref: '#/components/schemas/AttachmentInput'}
        inline_emotes:
          type: [array, 'null']
          maxItems: 100
          items: {$ref: '#/components/schemas/InlineEmoteInput'}
        client_message_id:
          description: The send's own id; a repeat returns the original message.
          anyOf:
            - $ref: '#/components/schemas/ClientMessageID'
            - type: 'null'
    EditMessageRequest:
      type: object
      required: [body]
      properties:
        body: {type: string}
        inline_emotes:
          description: Replaces the message's inline emotes (default none).
          type: [array, 'null']
          maxItems: 100
          items: {$ref: '#/components/schemas/InlineEmoteInput'}
    AddReactionRequest:
      type: object
      required: [emote_asset_id]
      properties:
        emote_asset_id: {$ref: '#/components/schemas/AssetIDInput'}
    MarkReadRequest:
      type: object
      required: [last_read_message_id]
      properties:
        last_read_message_id: {$ref: '#/components/schemas/SnowflakeIDInput'}
    BlockRequest:
      type: object
      required: [user_id]
      properties:
        user_id: {$ref: '#/components/schemas/UserID'}
    UpsertUserRequest:
      type: object
      required: [display_name]
      properties:
        display_name:
          description: 1-100 characters (`limits.max_display_name_length`), not only white space.
          type: string
          minLength: 1
          maxLength: 100
          pattern: '\S'
"""#
}
