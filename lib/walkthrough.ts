import type { LocalCredentials } from "./local-stack.ts";

/** What `npm start` prints: where things are, and a walk-through to paste into another terminal. */
export function walkthrough(credentials: LocalCredentials, dir: string, sesUrl: string): string {
  const { baseUrl, apiKey, appId } = credentials;
  return `
otp-service is running locally.

  API          ${baseUrl}
  App          ${appId}
  API key      ${apiKey}
  Admin token  in ${dir}/credentials.json (admin routes: Authorization: Bearer <adminToken>)
  Other terminals: export OTP_LOCAL_DIR=${dir}   (the README's snippets read the credentials there)
  Outbox       ${baseUrl}/dev/outbox   (every SMS and email the local stack "sent")
  SES (local)  ${sesUrl}                (aws-ses-v2-local's mail viewer)
  Console      http://localhost:${new URL(baseUrl).port}/console/   (apps, keys, settings, secrets, users, audit, doctor)
  Demo app     http://localhost:${new URL(baseUrl).port}/demo/   (a client app using every factor; open it on localhost)

Try it (paste into another terminal; needs only curl and node):

  BASE=${baseUrl}
  KEY=${apiKey}
  j() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(process.argv[1].split(".").reduce((v,k)=>v[k],JSON.parse(s))))' "$1"; }
  code() { curl -s "$BASE/dev/outbox?to=$1" | j messages.0.body | grep -oE '[0-9]{6,10}' | head -n1; }

  # 1. enroll alice's email: a code goes out at once
  FACTOR=$(curl -s -X POST $BASE/v1/users/alice/factors -H "Authorization: Bearer $KEY" \\
    -H 'content-type: application/json' -d '{"type":"email","email":"alice@example.com"}' | j factorId)
  # 2. activate it with that code: the answer holds alice's 10 recovery codes, shown only now
  curl -s -X POST $BASE/v1/users/alice/factors/$FACTOR/activate -H "Authorization: Bearer $KEY" \\
    -H 'content-type: application/json' -d "{\\"code\\":\\"$(code alice@example.com)\\"}"
  # 3. at login: send a code, then verify it
  CHALLENGE=$(curl -s -X POST $BASE/v1/challenges -H "Authorization: Bearer $KEY" \\
    -H 'content-type: application/json' -d '{"userId":"alice","channel":"email"}' | j challengeId)
  TOKEN=$(curl -s -X POST $BASE/v1/verifications -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \\
    -d "{\\"userId\\":\\"alice\\",\\"challengeId\\":\\"$CHALLENGE\\",\\"code\\":\\"$(code alice@example.com)\\"}" | j sessionToken)
  # 4. the session token proves the second factor until it expires
  curl -s -X POST $BASE/v1/sessions/validate -H "Authorization: Bearer $KEY" \\
    -H 'content-type: application/json' -d "{\\"sessionToken\\":\\"$TOKEN\\"}"

Ctrl-C stops everything; data stays in ${dir}.
`;
}
