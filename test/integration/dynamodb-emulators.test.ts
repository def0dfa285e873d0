import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { expect, it } from "vitest";
import { describeEachEmulator, type EmulatorKind } from "../support/dynamodb.ts";

/**
 * What the emulators do with the DynamoDB features the store relies on, through the
 * DocumentClient as the service uses it. Where dynalite and DynamoDB Local differ, each side
 * is its own named test: an emulator upgrade that changes one fails it by name.
 */
describeEachEmulator("DynamoDB features the store relies on", (db) => {
  /** A test of what one emulator does (registered on that one only, so nothing is reported skipped). */
  const itOn = (kind: EmulatorKind, name: string, test: () => Promise<void>) => {
    if (db.kind === kind) it(name, test);
  };
  let users = 0;
  /** A user item of its own for each test: the table is shared by the describe. */
  const newKey = () => ({ pk: `USER#${db.kind}#${++users}`, sk: "STATE" });
  const put = (item: Record<string, unknown>) =>
    db.documents.send(new PutCommand({ TableName: db.tableName, Item: item }));
  const update = (input: Omit<UpdateCommandInput, "TableName">) =>
    db.documents.send(new UpdateCommand({ TableName: db.tableName, ...input }));
  const read = async (key: Record<string, unknown>) =>
    (await db.documents.send(new GetCommand({ TableName: db.tableName, Key: key, ConsistentRead: true })))
      .Item;
  const failure = (promise: Promise<unknown>): Promise<Error & Record<string, unknown>> =>
    promise.then(
      () => {
        throw new Error("expected the request to be refused");
      },
      (error: Error & Record<string, unknown>) => error,
    );
  const validation = async (promise: Promise<unknown>, message: RegExp) => {
    const error = await failure(promise);
    expect(error.name).toBe("ValidationException");
    expect(error.message).toMatch(message);
  };
  /** A refused `v = 0` condition on an item whose v is 1. */
  const refusedUpdate = (key: Record<string, unknown>, extra: Partial<UpdateCommandInput> = {}) =>
    update({
      Key: key,
      UpdateExpression: "SET v = :two",
      ConditionExpression: "v = :zero",
      ExpressionAttributeValues: { ":two": 2, ":zero": 0 },
      ...extra,
    });

  it("UpdateItem with ReturnValues ALL_NEW returns the whole item after the write, and creates a missing item", async () => {
    const key = newKey();
    await put({ ...key, v: 1, ch: { a: "x" } });
    const updated = await update({
      Key: key,
      UpdateExpression: "SET v = :v",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: { ":v": 3 },
      ReturnValues: "ALL_NEW",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
    expect(updated.Attributes).toEqual({ ...key, v: 3, ch: { a: "x" } });

    const fresh = newKey();
    const created = await update({
      Key: fresh,
      UpdateExpression: "SET v = :v",
      ConditionExpression: "attribute_not_exists(pk)",
      ExpressionAttributeValues: { ":v": 1 },
      ReturnValues: "ALL_NEW",
    });
    expect(created.Attributes).toEqual({ ...fresh, v: 1 });
  });

  it("a refused condition is a ConditionalCheckFailedException (the client-dynamodb class) on UpdateItem and PutItem", async () => {
    const key = newKey();
    await put({ ...key, v: 1 });
    const updateError = await failure(refusedUpdate(key));
    expect(updateError).toBeInstanceOf(ConditionalCheckFailedException);
    const putError = await failure(
      db.documents.send(
        new PutCommand({
          TableName: db.tableName,
          Item: key,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
    expect(putError).toBeInstanceOf(ConditionalCheckFailedException);
    expect(await read(key)).toEqual({ ...key, v: 1 });
  });

  itOn(
    "dynamodb-local",
    "DynamoDB Local: ReturnValuesOnConditionCheckFailure ALL_OLD puts the old item on the exception, marshalled (AttributeValues: the DocumentClient leaves errors alone); no Item when the item is missing",
    async () => {
      const key = newKey();
      await put({ ...key, v: 1, ch: { a: "x" }, rc: new Set(["h1"]) });
      const error = await failure(refusedUpdate(key, { ReturnValuesOnConditionCheckFailure: "ALL_OLD" }));
      expect(error).toBeInstanceOf(ConditionalCheckFailedException);
      expect(error.Item).toEqual({
        pk: { S: key.pk },
        sk: { S: "STATE" },
        v: { N: "1" },
        ch: { M: { a: { S: "x" } } },
        rc: { SS: ["h1"] },
      });
      const putError = await failure(
        db.documents.send(
          new PutCommand({
            TableName: db.tableName,
            Item: key,
            ConditionExpression: "attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        ),
      );
      expect(putError.Item).toMatchObject({ pk: { S: key.pk }, v: { N: "1" } });
      // NONE (the default) brings nothing back
      expect((await failure(refusedUpdate(key))).Item).toBeUndefined();
      const missing = await failure(
        update({
          Key: newKey(),
          UpdateExpression: "SET v = :v",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":v": 1 },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      expect(missing).toBeInstanceOf(ConditionalCheckFailedException);
      expect(missing.Item).toBeUndefined();
    },
  );

  itOn(
    "dynamodb-local",
    "DynamoDB Local: an unknown ReturnValuesOnConditionCheckFailure is a ValidationException",
    async () => {
      const key = newKey();
      await put({ ...key, v: 1 });
      await validation(
        refusedUpdate(key, { ReturnValuesOnConditionCheckFailure: "BOGUS" as "ALL_OLD" }),
        /returnValuesOnConditionCheckFailure.*\[ALL_OLD, NONE\]/,
      );
    },
  );

  itOn(
    "dynalite",
    "dynalite quirk: ReturnValuesOnConditionCheckFailure is ignored, not rejected: no Item on the exception, and even an unknown value passes",
    async () => {
      const key = newKey();
      await put({ ...key, v: 1, ch: { a: "x" } });
      const error = await failure(refusedUpdate(key, { ReturnValuesOnConditionCheckFailure: "ALL_OLD" }));
      expect(error).toBeInstanceOf(ConditionalCheckFailedException);
      expect(error.Item).toBeUndefined();
      const unknown = await update({
        Key: key,
        UpdateExpression: "SET v = :v",
        ExpressionAttributeValues: { ":v": 5 },
        ReturnValuesOnConditionCheckFailure: "BOGUS" as "ALL_OLD",
      });
      expect(unknown.$metadata.httpStatusCode).toBe(200);
      expect(await read(key)).toMatchObject({ v: 5 });
    },
  );

  it("nested map paths: SET ch.#slot, ADD under a map, attribute_exists(af.#fid) then REMOVE af.#fid, comparisons on nested paths", async () => {
    const key = newKey();
    await put({ ...key, ch: { email: { id: "c0", at: 10 } }, af: { f1: 1, f2: 2 } });
    const set = await update({
      Key: key,
      UpdateExpression: "SET ch.#slot = :challenge ADD ch.#count :one",
      ConditionExpression: "attribute_not_exists(ch.#slot) AND ch.#old.#at < :now",
      ExpressionAttributeNames: { "#slot": "login", "#count": "sent", "#old": "email", "#at": "at" },
      ExpressionAttributeValues: { ":challenge": { id: "c1", at: 20 }, ":one": 1, ":now": 15 },
      ReturnValues: "ALL_NEW",
    });
    expect(set.Attributes?.ch).toEqual({ email: { id: "c0", at: 10 }, login: { id: "c1", at: 20 }, sent: 1 });

    // the same write again: the slot exists now
    const again = await failure(
      update({
        Key: key,
        UpdateExpression: "SET ch.#slot = :challenge",
        ConditionExpression: "attribute_not_exists(ch.#slot)",
        ExpressionAttributeNames: { "#slot": "login" },
        ExpressionAttributeValues: { ":challenge": { id: "c2", at: 30 } },
      }),
    );
    expect(again).toBeInstanceOf(ConditionalCheckFailedException);

    const removeF1 = {
      Key: key,
      UpdateExpression: "REMOVE af.#fid",
      ConditionExpression: "attribute_exists(af.#fid)",
      ExpressionAttributeNames: { "#fid": "f1" },
      ReturnValues: "ALL_NEW" as const,
    };
    expect((await update(removeF1)).Attributes?.af).toEqual({ f2: 2 });
    expect(await failure(update(removeF1))).toBeInstanceOf(ConditionalCheckFailedException);

    // a condition on a path under a missing map: attribute_not_exists is true, a comparison false
    await update({
      Key: key,
      UpdateExpression: "SET v = :v",
      ConditionExpression: "attribute_not_exists(zz.#fid)",
      ExpressionAttributeNames: { "#fid": "f1" },
      ExpressionAttributeValues: { ":v": 1 },
    });
    expect(
      await failure(
        update({
          Key: key,
          UpdateExpression: "SET v = :v",
          ConditionExpression: "zz.#fid < :v",
          ExpressionAttributeNames: { "#fid": "f1" },
          ExpressionAttributeValues: { ":v": 1 },
        }),
      ),
    ).toBeInstanceOf(ConditionalCheckFailedException);
  });

  it("a nested path under a missing map is a ValidationException for SET and REMOVE (also on a missing item); creating the map in the same expression overlaps", async () => {
    const key = newKey();
    await put({ ...key, v: 1 });
    const invalidPath = /document path provided in the update expression is invalid for update/;
    await validation(
      update({
        Key: key,
        UpdateExpression: "SET ch.#slot = :v",
        ExpressionAttributeNames: { "#slot": "login" },
        ExpressionAttributeValues: { ":v": 1 },
      }),
      invalidPath,
    );
    await validation(
      update({
        Key: newKey(),
        UpdateExpression: "SET ch.#slot = :v",
        ExpressionAttributeNames: { "#slot": "login" },
        ExpressionAttributeValues: { ":v": 1 },
      }),
      invalidPath,
    );
    await validation(
      update({ Key: key, UpdateExpression: "REMOVE af.#fid", ExpressionAttributeNames: { "#fid": "f1" } }),
      invalidPath,
    );
    await validation(
      update({
        Key: key,
        UpdateExpression: "SET ch = if_not_exists(ch, :empty), ch.#slot = :v",
        ExpressionAttributeNames: { "#slot": "login" },
        ExpressionAttributeValues: { ":empty": {}, ":v": 1 },
      }),
      /Two document paths overlap/,
    );
    expect(await read(key)).toEqual({ ...key, v: 1 });
  });

  it("ADD fa :one counts from zero on a missing attribute, and on a missing item creates it", async () => {
    const key = newKey();
    await put({ ...key, v: 1 });
    const add = { UpdateExpression: "ADD fa :one", ExpressionAttributeValues: { ":one": 1 } };
    expect((await update({ Key: key, ...add, ReturnValues: "ALL_NEW" })).Attributes).toEqual({
      ...key,
      v: 1,
      fa: 1,
    });
    expect((await update({ Key: key, ...add, ReturnValues: "ALL_NEW" })).Attributes?.fa).toBe(2);
    const fresh = newKey();
    expect((await update({ Key: fresh, ...add, ReturnValues: "ALL_NEW" })).Attributes).toEqual({
      ...fresh,
      fa: 1,
    });
  });

  it("string sets: ADD creates and grows a set, DELETE shrinks it, deleting the last member removes the attribute, DELETE on a missing set does nothing", async () => {
    const key = newKey();
    await put({ ...key, rc: new Set(["h1", "h2"]) });
    const after = async (expression: string, values: Record<string, unknown>) =>
      (
        await update({
          Key: key,
          UpdateExpression: expression,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        })
      ).Attributes;
    expect((await after("ADD rc :s", { ":s": new Set(["h3"]) }))?.rc).toEqual(new Set(["h1", "h2", "h3"]));
    expect((await after("ADD nw :s", { ":s": new Set(["n1"]) }))?.nw).toEqual(new Set(["n1"]));
    expect((await after("DELETE rc :s", { ":s": new Set(["h1", "h9"]) }))?.rc).toEqual(new Set(["h2", "h3"]));
    const emptied = await after("DELETE nw :s", { ":s": new Set(["n1"]) });
    expect(emptied).not.toHaveProperty("nw");
    expect(await after("DELETE gone :s", { ":s": new Set(["x"]) })).toEqual(emptied);
  });

  it("an empty Set is refused by the DocumentClient itself, before any request (DynamoDB has no empty sets)", async () => {
    const error = await failure(
      update({
        Key: newKey(),
        UpdateExpression: "SET rc = :s",
        ExpressionAttributeValues: { ":s": new Set<string>() },
      }),
    );
    expect(error.name).toBe("Error");
    expect(error.message).toMatch(/Pass a non-empty set/);
    expect(error.$metadata).toBeUndefined();
  });

  it("contains(rc, :h) on a string set and size() in conditions; size() of a missing attribute is false", async () => {
    const key = newKey();
    await put({ ...key, rc: new Set(["h1", "h2"]), ch: { a: 1, b: 2, c: 3 }, code: "12345678" });
    const redeem = {
      Key: key,
      UpdateExpression: "DELETE rc :used",
      ConditionExpression: "contains(rc, :h) AND size(rc) > :zero",
      ExpressionAttributeValues: { ":used": new Set(["h1"]), ":h": "h1", ":zero": 0 },
      ReturnValues: "ALL_NEW" as const,
    };
    expect((await update(redeem)).Attributes?.rc).toEqual(new Set(["h2"]));
    expect(await failure(update(redeem))).toBeInstanceOf(ConditionalCheckFailedException);
    const sizes = await update({
      Key: key,
      UpdateExpression: "SET v = :one",
      ConditionExpression: "size(rc) = :one AND size(ch) = :three AND size(code) = :eight",
      ExpressionAttributeValues: { ":one": 1, ":three": 3, ":eight": 8 },
      ReturnValues: "ALL_NEW",
    });
    expect(sizes.Attributes?.v).toBe(1);
    const missing = await failure(
      update({
        Key: key,
        UpdateExpression: "SET v = :one",
        ConditionExpression: "size(nothing) < :one",
        ExpressionAttributeValues: { ":one": 1 },
      }),
    );
    expect(missing).toBeInstanceOf(ConditionalCheckFailedException);
  });

  it("unused ExpressionAttributeNames or Values, and two paths that overlap, are ValidationExceptions", async () => {
    const key = newKey();
    await put({ ...key, v: 1, ch: { a: 1 } });
    await validation(
      update({
        Key: key,
        UpdateExpression: "SET v = :v",
        ExpressionAttributeNames: { "#unused": "x" },
        ExpressionAttributeValues: { ":v": 2 },
      }),
      /ExpressionAttributeNames unused in expressions: keys: \{#unused\}/,
    );
    await validation(
      update({
        Key: key,
        UpdateExpression: "SET v = :v",
        ExpressionAttributeValues: { ":v": 2, ":unused": 1 },
      }),
      /ExpressionAttributeValues unused in expressions: keys: \{:unused\}/,
    );
    await validation(
      update({
        Key: key,
        UpdateExpression: "SET ch.#a = :v REMOVE ch",
        ExpressionAttributeNames: { "#a": "a" },
        ExpressionAttributeValues: { ":v": 2 },
      }),
      /Two document paths overlap/,
    );
    await validation(
      update({ Key: key, UpdateExpression: "SET v = :v, v = :v", ExpressionAttributeValues: { ":v": 2 } }),
      /Two document paths overlap/,
    );
    // sibling paths in one map do not overlap
    const siblings = await update({
      Key: key,
      UpdateExpression: "SET ch.#b = :v, ch.#c = :v REMOVE ch.#a",
      ExpressionAttributeNames: { "#a": "a", "#b": "b", "#c": "c" },
      ExpressionAttributeValues: { ":v": 2 },
      ReturnValues: "ALL_NEW",
    });
    expect(siblings.Attributes?.ch).toEqual({ b: 2, c: 2 });
  });

  itOn(
    "dynalite",
    "emulators differ: after a nested ADD, dynalite's UPDATED_NEW holds only the updated path inside its map",
    async () => {
      const key = newKey();
      await put({ ...key, ch: { a: "x" } });
      const added = await update({
        Key: key,
        UpdateExpression: "ADD ch.#n :one",
        ExpressionAttributeNames: { "#n": "count" },
        ExpressionAttributeValues: { ":one": 1 },
        ReturnValues: "UPDATED_NEW",
      });
      expect(added.Attributes).toEqual({ ch: { count: 1 } });
    },
  );

  itOn(
    "dynamodb-local",
    "emulators differ: after a nested ADD, DynamoDB Local's UPDATED_NEW holds the whole top-level map",
    async () => {
      const key = newKey();
      await put({ ...key, ch: { a: "x" } });
      const added = await update({
        Key: key,
        UpdateExpression: "ADD ch.#n :one",
        ExpressionAttributeNames: { "#n": "count" },
        ExpressionAttributeValues: { ":one": 1 },
        ReturnValues: "UPDATED_NEW",
      });
      expect(added.Attributes).toEqual({ ch: { a: "x", count: 1 } });
    },
  );

  itOn(
    "dynamodb-local",
    "DynamoDB Local: TransactWriteItems writes all or nothing; a refused ConditionCheck cancels with a reason per item (ALL_OLD marshalled)",
    async () => {
      const key = newKey();
      await put({ ...key, v: 1 });
      const factor = { pk: key.pk, sk: "FACTOR#f1" };
      await db.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: { TableName: db.tableName, Item: factor, ConditionExpression: "attribute_not_exists(pk)" },
            },
            {
              Update: {
                TableName: db.tableName,
                Key: key,
                UpdateExpression: "SET v = :v",
                ExpressionAttributeValues: { ":v": 2 },
              },
            },
          ],
        }),
      );
      expect(await read(factor)).toEqual(factor);
      expect(await read(key)).toEqual({ ...key, v: 2 });

      const other = { pk: key.pk, sk: "FACTOR#f2" };
      const error = await failure(
        db.documents.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: db.tableName, Item: other } },
              {
                ConditionCheck: {
                  TableName: db.tableName,
                  Key: key,
                  ConditionExpression: "v = :zero",
                  ExpressionAttributeValues: { ":zero": 0 },
                  ReturnValuesOnConditionCheckFailure: "ALL_OLD",
                },
              },
            ],
          }),
        ),
      );
      expect(error).toBeInstanceOf(TransactionCanceledException);
      expect(error.CancellationReasons).toEqual([
        { Code: "None" },
        {
          Code: "ConditionalCheckFailed",
          Message: "The conditional request failed.",
          Item: { pk: { S: key.pk }, sk: { S: "STATE" }, v: { N: "2" } },
        },
      ]);
      expect(await read(other)).toBeUndefined();
      const got = await db.documents.send(
        new TransactGetCommand({ TransactItems: [{ Get: { TableName: db.tableName, Key: factor } }] }),
      );
      expect(got.Responses).toEqual([{ Item: factor }]);
    },
  );

  itOn(
    "dynalite",
    "dynalite quirk: no transactions: TransactWriteItems and TransactGetItems are UnknownOperationException",
    async () => {
      const key = newKey();
      const write = await failure(
        db.documents.send(
          new TransactWriteCommand({ TransactItems: [{ Put: { TableName: db.tableName, Item: key } }] }),
        ),
      );
      expect(write.name).toBe("UnknownOperationException");
      const get = await failure(
        db.documents.send(
          new TransactGetCommand({ TransactItems: [{ Get: { TableName: db.tableName, Key: key } }] }),
        ),
      );
      expect(get.name).toBe("UnknownOperationException");
      expect(await read(key)).toBeUndefined();
    },
  );

  it("Query with ConsistentRead: BETWEEN on the sort key, in key order, paged by Limit and LastEvaluatedKey", async () => {
    const pk = newKey().pk;
    for (const sk of ["STATE", "FACTOR#b", "FACTOR#a", "AUDIT#1", "ZZZ"]) await put({ pk, sk });
    const sks: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const page = await db.documents.send(
        new QueryCommand({
          TableName: db.tableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :factors AND :state",
          ExpressionAttributeValues: { ":pk": pk, ":factors": "FACTOR#", ":state": "STATE" },
          ConsistentRead: true,
          Limit: 2,
          ExclusiveStartKey: startKey,
        }),
      );
      sks.push(...(page.Items ?? []).map((item) => String(item.sk)));
      startKey = page.LastEvaluatedKey;
      pages += 1;
    } while (startKey && pages < 10);
    expect(sks).toEqual(["FACTOR#a", "FACTOR#b", "STATE"]);
    expect(pages).toBe(2);
  });

  it("BatchWriteItem puts and deletes up to 25 requests; 26 requests, or one key twice, is a ValidationException", async () => {
    const pk = newKey().pk;
    await put({ pk, sk: "OLD" });
    const result = await db.documents.send(
      new BatchWriteCommand({
        RequestItems: {
          [db.tableName]: [
            ...Array.from({ length: 24 }, (_, i) => ({ PutRequest: { Item: { pk, sk: `AUDIT#${i}` } } })),
            { DeleteRequest: { Key: { pk, sk: "OLD" } } },
          ],
        },
      }),
    );
    expect(result.UnprocessedItems ?? {}).toEqual({});
    const all = await db.documents.send(
      new QueryCommand({
        TableName: db.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk },
        ConsistentRead: true,
      }),
    );
    expect(all.Count).toBe(24);
    await validation(
      db.documents.send(
        new BatchWriteCommand({
          RequestItems: {
            [db.tableName]: Array.from({ length: 26 }, (_, i) => ({
              PutRequest: { Item: { pk, sk: `X#${i}` } },
            })),
          },
        }),
      ),
      /25|Too many items/,
    );
    await validation(
      db.documents.send(
        new BatchWriteCommand({
          RequestItems: {
            [db.tableName]: [
              { PutRequest: { Item: { pk, sk: "AUDIT#0" } } },
              { DeleteRequest: { Key: { pk, sk: "AUDIT#0" } } },
            ],
          },
        }),
      ),
      /Provided list of item keys contains duplicates/,
    );
  });
});
