import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/** The single table of DESIGN.md. The CDK stack and the local stack both create it from this. */
export const TABLE_KEYS = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "ttl",
} as const;

export const createTableInput = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  AttributeDefinitions: [
    { AttributeName: TABLE_KEYS.partitionKey, AttributeType: "S" },
    { AttributeName: TABLE_KEYS.sortKey, AttributeType: "S" },
  ],
  KeySchema: [
    { AttributeName: TABLE_KEYS.partitionKey, KeyType: "HASH" },
    { AttributeName: TABLE_KEYS.sortKey, KeyType: "RANGE" },
  ],
  BillingMode: "PAY_PER_REQUEST",
});
