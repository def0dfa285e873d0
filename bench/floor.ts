import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";

/**
 * The floor: the least a Lambda must do to reach DynamoDB. One `UpdateItem` through
 * lib-dynamodb, bundled with the same esbuild options as the service's functions. Like
 * them it builds its client on the first request, not at import, so the two cold imports
 * compare like for like.
 */
let documents: DynamoDBDocumentClient | undefined;

export const handler = async (): Promise<{ statusCode: number }> => {
  documents ??= DynamoDBDocumentClient.from(new DynamoDBClient({}));
  await countOne(documents);
  return { statusCode: 204 };
};

/** The floor's one write; the references in floor-platform.ts do it too. */
export async function countOne(documents: DynamoDBDocumentClient): Promise<void> {
  await documents.send(
    new UpdateCommand({
      TableName: process.env.OTP_TABLE_NAME,
      Key: { pk: "BENCH#floor", sk: "FLOOR" },
      UpdateExpression: "SET n = if_not_exists(n, :zero) + :one",
      ExpressionAttributeValues: { ":zero": 0, ":one": 1 },
    }),
  );
}
