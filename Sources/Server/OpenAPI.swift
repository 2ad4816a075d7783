/// The API's OpenAPI 3.1 description, served at `/api/openapi.json`.
enum OpenAPI {
    static let document = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "vjsearch",
        "version": "1",
        "description": "Local text-to-video moment search. Every JSON answer carries \"schema\": 1 and snake_case keys; errors are {\"error\": {\"message\"}} with a 4xx status. Off loopback every request needs the server's token: Authorization: Bearer TOKEN, the vjsearch_token cookie, or ?token=TOKEN."
      },
      "components": {
        "securitySchemes": { "token": { "type": "http", "scheme": "bearer" } },
        "parameters": {
          "top": { "name": "top", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 20 } },
          "min_score": { "name": "min_score", "in": "query", "schema": { "type": "number", "minimum": -1, "maximum": 1 } },
          "id": { "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0 } }
        },
        "schemas": {
          "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": { "message": { "type": "string" } } } } },
          "Moment": {
            "type": "object",
            "required": ["rank", "video_id", "path", "start", "end", "score", "partial", "thumbnail", "media"],
            "properties": {
              "rank": { "type": "integer", "description": "1 for the best" },
              "video_id": { "type": "integer" },
              "path": { "type": "string" },
              "start": { "type": "number", "description": "seconds" },
              "end": { "type": "number", "description": "seconds" },
              "score": { "type": "number", "description": "cosine similarity of the moment's best segment" },
              "partial": { "type": "boolean", "description": "the video is indexed in part so far" },
              "thumbnail": { "type": "string", "description": "URL of the JPEG frame in the middle of the moment" },
              "media": { "type": "string", "description": "URL of the video file with a #t=start,end fragment" }
            }
          },
          "Moments": {
            "type": "object",
            "properties": {
              "schema": { "type": "integer" }, "model": { "type": "string" }, "took_ms": { "type": "number" },
              "moments": { "type": "array", "items": { "$ref": "#/components/schemas/Moment" } }
            }
          },
          "Video": {
            "type": "object",
            "properties": {
              "video_id": { "type": "integer" }, "path": { "type": "string" }, "duration": { "type": "number" },
              "segments": { "type": "integer" }, "status": { "type": "string", "enum": ["indexed", "partial"] },
              "size": { "type": "integer" }, "media": { "type": "string" }
            }
          }
        },
        "responses": {
          "BadRequest": { "description": "a parameter is missing or out of range", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "Unauthorized": { "description": "no token, or a wrong one", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "NotFound": { "description": "no such video", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "Gone": { "description": "the video's file is gone since it was indexed", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
        }
      },
      "security": [{ "token": [] }],
      "paths": {
        "/api/search": {
          "get": {
            "summary": "Ranked moments for a text, as `vjsearch query` finds them",
            "parameters": [
              { "name": "q", "in": "query", "required": true, "schema": { "type": "string", "maxLength": 1000 } },
              { "$ref": "#/components/parameters/top" },
              { "$ref": "#/components/parameters/min_score" },
              { "name": "in", "in": "query", "description": "only videos whose absolute path matches this fnmatch glob", "schema": { "type": "string" } }
            ],
            "responses": {
              "200": { "description": "moments, best first", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Moments" } } } },
              "400": { "$ref": "#/components/responses/BadRequest" },
              "401": { "$ref": "#/components/responses/Unauthorized" },
              "413": { "$ref": "#/components/responses/BadRequest" }
            }
          }
        },
        "/api/similar": {
          "get": {
            "summary": "Moments like the one at t seconds of a video: its stored segment vector is the query",
            "parameters": [
              { "name": "video", "in": "query", "required": true, "schema": { "type": "integer" } },
              { "name": "t", "in": "query", "schema": { "type": "number", "minimum": 0, "default": 0 } },
              { "name": "other_videos", "in": "query", "description": "1: leave out the video's own moments", "schema": { "type": "integer", "enum": [0, 1], "default": 0 } },
              { "$ref": "#/components/parameters/top" },
              { "$ref": "#/components/parameters/min_score" }
            ],
            "responses": {
              "200": { "description": "moments, best first, without the moment itself", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Moments" } } } },
              "400": { "$ref": "#/components/responses/BadRequest" },
              "404": { "$ref": "#/components/responses/NotFound" }
            }
          }
        },
        "/api/videos": {
          "get": {
            "summary": "The library's searchable videos by path, a page at a time",
            "parameters": [
              { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0, "default": 0 } },
              { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }
            ],
            "responses": {
              "200": { "description": "a page", "content": { "application/json": { "schema": { "type": "object", "properties": {
                "schema": { "type": "integer" }, "total": { "type": "integer" }, "offset": { "type": "integer" }, "limit": { "type": "integer" },
                "videos": { "type": "array", "items": { "$ref": "#/components/schemas/Video" } } } } } } },
              "400": { "$ref": "#/components/responses/BadRequest" }
            }
          }
        },
        "/api/videos/{id}": {
          "get": {
            "summary": "One video with the time span of every segment",
            "parameters": [{ "$ref": "#/components/parameters/id" }],
            "responses": {
              "200": { "description": "the video", "content": { "application/json": { "schema": { "allOf": [{ "$ref": "#/components/schemas/Video" }, { "type": "object", "properties": {
                "thumbnail": { "type": "string" },
                "segments": { "type": "array", "items": { "type": "object", "properties": { "index": { "type": "integer" }, "start": { "type": "number" }, "end": { "type": "number" } } } } } }] } } } },
              "404": { "$ref": "#/components/responses/NotFound" }
            }
          }
        },
        "/api/status": {
          "get": {
            "summary": "The library, its model and domain, and the watch daemon, as `vjsearch status --json`",
            "responses": { "200": { "description": "status", "content": { "application/json": { "schema": { "type": "object" } } } } }
          }
        },
        "/thumbnails/{id}/{seconds}.jpg": {
          "get": {
            "summary": "The frame at a time, 320 pixels wide, as JPEG (cached)",
            "parameters": [
              { "$ref": "#/components/parameters/id" },
              { "name": "seconds", "in": "path", "required": true, "schema": { "type": "number", "minimum": 0 } }
            ],
            "responses": {
              "200": { "description": "the image", "content": { "image/jpeg": {} } },
              "404": { "$ref": "#/components/responses/NotFound" },
              "410": { "$ref": "#/components/responses/Gone" },
              "416": { "description": "the time is past the video's end" }
            }
          }
        },
        "/media/{id}": {
          "get": {
            "summary": "The video file, with byte ranges (206), ETag and Last-Modified",
            "parameters": [
              { "$ref": "#/components/parameters/id" },
              { "name": "Range", "in": "header", "schema": { "type": "string", "example": "bytes=0-1023" } }
            ],
            "responses": {
              "200": { "description": "the whole file" },
              "206": { "description": "the requested range" },
              "304": { "description": "unchanged (If-None-Match)" },
              "404": { "$ref": "#/components/responses/NotFound" },
              "410": { "$ref": "#/components/responses/Gone" },
              "416": { "description": "the range lies past the end of the file" }
            }
          }
        }
      }
    }
    """#
}
